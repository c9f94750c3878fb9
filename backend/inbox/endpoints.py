import uuid
from typing import Any

from litestar import Request, Router, get, post
from litestar.params import JSONBody, Parameter

from backend.crud import Offset, record_opt
from backend.inbox import services
from backend.inbox.schemas import InboxItemOut, InboxPage, MarkedRead, ReadAll, UnreadCount
from backend.records import MAX_PAGE


@get("/", operation_id="list_inbox", summary="Your inbox, newest first, with the unread count")
async def list_inbox(
    request: Request[Any, Any, Any],
    unread: bool = False,
    urgent: bool = False,
    kind: str = Parameter(default="", max_length=32),
    limit: int = Parameter(default=50, ge=1, le=MAX_PAGE),
    offset: int = Offset,
) -> InboxPage:
    """Texts in the reader's language (their setting, else the server's default)."""
    return await services.list_items(request.user, unread_only=unread, urgent_only=urgent, kind=kind, limit=limit,
                                     offset=offset)


@get("/unread-count", operation_id="count_unread_inbox", summary="How many inbox items you have not read")
async def unread_count(request: Request[Any, Any, Any]) -> UnreadCount:
    return UnreadCount(unread=await services.unread_count(request.user))


@post("/{item_id:uuid}/read", opt=record_opt("notification", "item_id"),
      operation_id="mark_inbox_item_read", status_code=200, summary="Mark one item read")
async def mark_read(request: Request[Any, Any, Any], item_id: uuid.UUID) -> InboxItemOut:
    return await services.mark_read(request.user, item_id)


@post("/read-all", operation_id="mark_inbox_read", status_code=200, summary="Mark all (or all up to a time) read")
async def mark_all_read(request: Request[Any, Any, Any], data: JSONBody[ReadAll]) -> MarkedRead:
    return await services.mark_all_read(request.user, data.up_to)


inbox_router = Router(path="/api/inbox", route_handlers=[list_inbox, unread_count, mark_read, mark_all_read],
                      tags=["inbox"])
