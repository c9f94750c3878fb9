"""HTTP routes of the timeline: one page of a client's or a project's history, newest first."""

import uuid
from typing import Any

from litestar import Request, Router, get
from litestar.params import Parameter

from backend.crud import Offset, record_opt
from backend.records import MAX_PAGE
from backend.timeline import services
from backend.timeline.schemas import TimelinePage

Limit = Parameter(default=20, ge=1, le=MAX_PAGE)


@get("/clients/{record_id:uuid}/timeline", opt=record_opt("client"), operation_id="client_timeline",
     summary="The client's history: notes (visit notes too), visits, photos, opportunity moves, reassignments")
async def client_timeline(request: Request[Any, Any, Any], record_id: uuid.UUID, limit: int = Limit,
                          offset: int = Offset) -> TimelinePage:
    return await services.client_timeline(request.user, record_id, limit=limit, offset=offset)


@get("/projects/{record_id:uuid}/timeline", opt=record_opt("project"), operation_id="project_timeline",
     summary="The project's history: notes, visits, photos, stages, milestones, reassignments, collections")
async def project_timeline(request: Request[Any, Any, Any], record_id: uuid.UUID, limit: int = Limit,
                           offset: int = Offset) -> TimelinePage:
    return await services.project_timeline(request.user, record_id, limit=limit, offset=offset)


timeline_router = Router(path="/api", tags=["timeline"], route_handlers=[client_timeline, project_timeline])
