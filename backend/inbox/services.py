"""Reading the in-app inbox: each user sees and marks only their own items (rule in `backend/access.py`)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from backend import access, db, records
from backend.access import Actor
from backend.audit.services import record_changes
from backend.inbox.schemas import InboxItemOut, InboxPage, MarkedRead
from notifications.tables import InboxItem

COLUMNS = (InboxItem.id, InboxItem.kind, InboxItem.title, InboxItem.body, InboxItem.link, InboxItem.topic,
           InboxItem.urgency, InboxItem.source_id, InboxItem.read_at, InboxItem.created_at)


def _to_api(row: dict[str, Any]) -> InboxItemOut:
    return InboxItemOut(**row, read=row["read_at"] is not None)


async def unread_count(actor: Actor) -> int:
    count: int = await access.scope(InboxItem.count(), actor, "notification").where(InboxItem.read_at.is_null())
    return count


async def list_items(actor: Actor, *, unread_only: bool = False, limit: int = 50, offset: int = 0) -> InboxPage:
    """Newest first, with the unread count for the badge."""
    query = access.scope(InboxItem.select(*COLUMNS), actor, "notification")
    count = access.scope(InboxItem.count(), actor, "notification")
    if unread_only:
        query, count = query.where(InboxItem.read_at.is_null()), count.where(InboxItem.read_at.is_null())
    query = query.order_by(InboxItem.created_at, ascending=False).order_by(InboxItem.id)
    rows = await query.limit(limit).offset(offset)
    return InboxPage(items=[_to_api(r) for r in rows], total=await count, unread=await unread_count(actor),
                     limit=limit, offset=offset)


async def _mark(actor: Actor, clause: Any, at: dt.datetime) -> list[uuid.UUID]:
    changed = await access.scope(InboxItem.update({InboxItem.read_at: at}), actor, "notification", "write").where(
        clause & InboxItem.read_at.is_null()).returning(InboxItem.id)
    ids = [row["id"] for row in changed]
    await record_changes([{"actor_id": actor.id, "action": "read", "table": "inbox_items", "row_id": item_id,
                           "before": {"read_at": None}, "after": {"read_at": at}, "branch_id": actor.branch_id,
                           "owner_id": actor.id} for item_id in ids])
    return ids


async def mark_read(actor: Actor, item_id: uuid.UUID, at: dt.datetime | None = None) -> InboxItemOut:
    """Mark one item read (again is fine: it stays read with its first time)."""
    at = at or records.now()
    async with db.write_transaction():
        await access.authorize(actor, "update", "notification", item_id)
        await _mark(actor, InboxItem.id == item_id, at)
        row = await InboxItem.select(*COLUMNS).where(InboxItem.id == item_id).first()
    assert row is not None
    return _to_api(row)


async def mark_all_read(
    actor: Actor, up_to: dt.datetime | None = None, at: dt.datetime | None = None
) -> MarkedRead:
    """Mark every unread item read, or only those created up to `up_to` (what the user has actually seen)."""
    at = at or records.now()
    clause = InboxItem.created_at <= (up_to or at)
    async with db.write_transaction():
        ids = await _mark(actor, clause, at)
    return MarkedRead(marked=len(ids), unread=await unread_count(actor))
