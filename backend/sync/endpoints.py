"""`/api/sync`: the field kit's pull and push (protocol in `backend.sync.services`)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, post
from litestar.datastructures import CacheControlHeader
from litestar.params import JSONBody

from backend.sync import services
from backend.sync.schemas import PullAnswer, PullRequest, PushAnswer, PushBatch


@post("/pull", operation_id="sync_pull", summary="What this device lacks of your field-kit records, and tombstones",
      description="A POST: every pull records what the device now holds (a manifest generation).",
      status_code=200, cache_control=CacheControlHeader(no_store=True))
async def pull(request: Request[Any, Any, Any], data: JSONBody[PullRequest]) -> PullAnswer:
    return await services.pull(request.user, data.device_id, data.cursor, data.limit)


@post("/push", operation_id="sync_push", summary="Apply a batch of queued operations, each exactly once",
      status_code=200)
async def push(request: Request[Any, Any, Any], data: JSONBody[PushBatch]) -> PushAnswer:
    return await services.push(request.user, data.device_id, data.ops, data.device_now)


sync_router = Router(path="/api/sync", route_handlers=[pull, push], tags=["sync"])
