"""`/api/handover`: open work of people who left your branch, to reassign through each resource's reassign route."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Router, get

from backend.handover import services
from backend.handover.schemas import LeftWorkOut


@get("/", operation_id="list_left_work", summary="Open work of people who left your branch (moved or disabled)",
     description="Clients, open opportunities and projects, planned visits and open milestones still owned by users "
                 "now in another branch or disabled, each with the users it may be given to. Hand each over with "
                 "its resource's reassign route.")
async def list_left_work(request: Request[Any, Any, Any]) -> LeftWorkOut:
    return msgspec.convert(await services.left_work(request.user), LeftWorkOut, strict=False)


handover_router = Router(path="/api/handover", route_handlers=[list_left_work], tags=["handover"])
