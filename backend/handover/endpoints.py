"""`/api/handover`: open work of people who left your branch, to reassign through each resource's reassign route."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Request, Router, get, post
from litestar.params import JSONBody

from backend.accounts.schemas import UserOut
from backend.handover import services
from backend.handover.schemas import Deactivation, DepartureOut, LeftWorkOut


@get("/", operation_id="list_left_work", summary="Open work of people who left your branch (moved or disabled)",
     description="Clients, open opportunities and projects, planned visits and open milestones still owned by users "
                 "now in another branch or disabled, each with the users it may be given to. Hand each over with "
                 "its resource's reassign route.")
async def list_left_work(request: Request[Any, Any, Any]) -> LeftWorkOut:
    return msgspec.convert(await services.left_work(request.user), LeftWorkOut, strict=False)


@get("/users/{user_id:uuid}", operation_id="user_departure", opt={"authorize": ("user", "user_id")},
     summary="What deactivating a user leaves behind: open work per kind, and who may take it")
async def user_departure(request: Request[Any, Any, Any], user_id: uuid.UUID) -> DepartureOut:
    return msgspec.convert(await services.departure(request.user, user_id), DepartureOut, strict=False)


@post("/users/{user_id:uuid}/deactivate", operation_id="deactivate_user", status_code=200,
      opt={"authorize": ("user", "user_id")},
      summary="Hand a user's open work to the users named per kind, then deactivate them, in one step")
async def deactivate_user(request: Request[Any, Any, Any], user_id: uuid.UUID,
                          data: JSONBody[Deactivation]) -> UserOut:
    targets = {k: v for k, v in msgspec.structs.asdict(data.reassign_to).items() if v is not None}
    return await services.deactivate_with_handover(request.user, user_id, data.version, targets)  # type: ignore[no-any-return]


handover_router = Router(path="/api/handover", route_handlers=[list_left_work, user_departure, deactivate_user],
                         tags=["handover"])
