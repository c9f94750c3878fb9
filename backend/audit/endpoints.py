import datetime as dt
import uuid
from typing import Any

from litestar import Request, Router, get
from litestar.params import Parameter

from backend.audit import read
from backend.audit.schemas import ChangePage
from backend.schemas import MAX_SEQ, NO_NUL, check_time


@get("/", operation_id="list_changes", summary="The change log, filtered by record, actor and time")
async def list_changes(
    request: Request[Any, Any, Any],
    table: str | None = Parameter(default=None, max_length=64, pattern=NO_NUL),
    row_id: str | None = Parameter(default=None, max_length=64, pattern=NO_NUL),
    actor_id: uuid.UUID | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    after_seq: int = Parameter(default=0, ge=0, le=MAX_SEQ),
    limit: int = Parameter(default=100, ge=1, le=500),
) -> ChangePage:
    check_time("since", since)
    check_time("until", until)
    return await read.change_page(request.user, table=table, row_id=row_id, actor_id=actor_id, since=since,
                                  until=until, after_seq=after_seq, limit=limit)


audit_router = Router(path="/api/audit", route_handlers=[list_changes], tags=["audit"])
