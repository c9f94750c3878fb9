"""The scoped read side of the change log (managers see their branch, executives everything)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec

from backend import access
from backend.access import Actor
from backend.audit.schemas import ChangeOut, ChangePage
from backend.audit.tables import ChangeLog


async def list_changes(
    actor: Actor,
    *,
    table: str | None = None,
    row_id: str | None = None,
    actor_id: uuid.UUID | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    after_seq: int = 0,
    limit: int = 100,
) -> list[dict[str, Any]]:
    if not access.can(actor, "list", "audit"):
        raise access.Forbidden("Only managers, executives and admins may read the change log")
    query = access.scope(ChangeLog.select(), actor, "audit").where(ChangeLog.seq > after_seq)
    if table:
        query = query.where(ChangeLog.table_name == table)
    if row_id:
        query = query.where(ChangeLog.row_id == row_id)
    if actor_id:
        query = query.where(ChangeLog.actor_id == actor_id)
    if since:
        query = query.where(ChangeLog.at >= since)
    if until:
        query = query.where(ChangeLog.at < until)
    return await query.order_by(ChangeLog.seq).limit(limit)


async def change_page(
    actor: Actor,
    *,
    table: str | None = None,
    row_id: str | None = None,
    actor_id: uuid.UUID | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    after_seq: int = 0,
    limit: int = 100,
) -> ChangePage:
    """`list_changes` as the feed answers it: the rows and the `after_seq` to send next."""
    rows = await list_changes(actor, table=table, row_id=row_id, actor_id=actor_id, since=since, until=until,
                              after_seq=after_seq, limit=limit)
    items = [msgspec.convert(row, ChangeOut, strict=False) for row in rows]
    return ChangePage(items=items, next_after_seq=items[-1].seq if items else after_seq)
