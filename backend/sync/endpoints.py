"""`/api/sync`: the field kit's pull and push (protocol in `backend.sync.services`)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, Router, get, post
from litestar.datastructures import CacheControlHeader
from litestar.params import JSONBody, Parameter

from backend.sync import services
from backend.sync.schemas import PushBatch


@get("/pull", operation_id="sync_pull", summary="What this device lacks of your field-kit records, and tombstones",
     cache_control=CacheControlHeader(no_store=True))
async def pull(
    request: Request,
    device_id: uuid.UUID,
    cursor: int = Parameter(default=0, ge=0, description="0 at first, then the cursor of the last answer applied"),
    limit: int = Parameter(default=services.PAGE, ge=1, le=services.MAX_PAGE),
) -> dict[str, Any]:
    return await services.pull(request.user, device_id, cursor, limit)


@post("/push", operation_id="sync_push", summary="Apply a batch of queued operations, each exactly once",
      status_code=200)
async def push(request: Request, data: JSONBody[PushBatch]) -> dict[str, Any]:
    return await services.push(request.user, data.device_id, data.ops)


sync_router = Router(path="/api/sync", route_handlers=[pull, push], tags=["sync"])
