"""Reading the in-app inbox: each user sees and marks only their own items (rule in `backend/access.py`).

Items are rendered here, at read time, in the reader's language from their kind and parameters
(`backend.alerts`); an item is urgent only while it is: marked high when written (an escalation, a nudge about an
overdue milestone) and its milestone not done since."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from piccolo.columns.combination import WhereRaw

from backend import access, alerts, db, records
from backend.access import Actor
from backend.audit.services import record_changes
from backend.inbox.schemas import InboxItemOut, InboxPage, MarkedRead
from notifications.push.payload import project_id_of
from notifications.tables import InboxItem

COLUMNS = (InboxItem.id, InboxItem.kind, InboxItem.title, InboxItem.body, InboxItem.link, InboxItem.topic,
           InboxItem.urgency, InboxItem.source_id, InboxItem.subject_id, InboxItem.params, InboxItem.read_at,
           InboxItem.created_at)
# Still urgent: marked high, and not about a milestone that is no longer open.
URGENT = (InboxItem.urgency == "high") & WhereRaw(
    "(subject_id IS NULL OR subject_id NOT IN (SELECT id FROM project_milestones WHERE state <> 'open'))")


def _params(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    try:
        loaded = json.loads(value or "{}")
    except (TypeError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _to_api(row: dict[str, Any], lang: str, urgent: set[uuid.UUID]) -> InboxItemOut:
    params = _params(row.pop("params"))
    rendered = alerts.render(row["kind"], params, lang)
    if rendered is not None:
        row["title"], row["body"] = rendered
        row["link"] = alerts.alert_url(row["kind"], params)
    project = params.get("project")
    title = (project.get(lang) or project.get("zh") or "") if isinstance(project, dict) else str(project or "")
    return InboxItemOut(**row, params=params, urgent=row["id"] in urgent, project_id=project_id_of(row["topic"]),
                        project_title=title, read=row["read_at"] is not None)


async def unread_count(actor: Actor) -> int:
    count: int = await access.scope(InboxItem.count(), actor, "notification").where(InboxItem.read_at.is_null())
    return count


def reader_language(actor: Actor, lang: str | None) -> str:
    """The language the reader reads now (the screen's), else their setting, else the default."""
    return alerts.language(lang or actor.language)


async def list_items(actor: Actor, *, unread_only: bool = False, urgent_only: bool = False, kind: str = "",
                     lang: str | None = None, limit: int = 50, offset: int = 0) -> InboxPage:
    """Newest first, rendered in `lang` (the reader's), with the unread count for the badge."""
    lang = reader_language(actor, lang)
    query = access.scope(InboxItem.select(*COLUMNS), actor, "notification")
    count = access.scope(InboxItem.count(), actor, "notification")
    for wanted, clause in ((unread_only, InboxItem.read_at.is_null()), (urgent_only, URGENT),
                           (bool(kind), InboxItem.kind == kind)):
        if wanted:
            query, count = query.where(clause), count.where(clause)
    query = query.order_by(InboxItem.created_at, ascending=False).order_by(InboxItem.id)
    rows = await query.limit(limit).offset(offset)
    ids = [r["id"] for r in rows]
    urgent = {r["id"] for r in await InboxItem.select(InboxItem.id).where(
        InboxItem.id.is_in(ids) & URGENT)} if ids else set()
    mine = access.scope(InboxItem.select(InboxItem.kind).distinct(), actor, "notification")
    urgent_unread: int = await access.scope(InboxItem.count(), actor, "notification").where(
        InboxItem.read_at.is_null() & URGENT)
    return InboxPage(items=[_to_api(r, lang, urgent) for r in rows], total=await count,
                     unread=await unread_count(actor), urgent=urgent_unread,
                     kinds=sorted(r["kind"] for r in await mine), limit=limit, offset=offset)


async def _mark(actor: Actor, clause: Any, at: dt.datetime) -> list[uuid.UUID]:
    changed = await access.scope(InboxItem.update({InboxItem.read_at: at}), actor, "notification", "write").where(
        clause & InboxItem.read_at.is_null()).returning(InboxItem.id)
    ids = [row["id"] for row in changed]
    await record_changes([{"actor_id": actor.id, "action": "read", "table": "inbox_items", "row_id": item_id,
                           "before": {"read_at": None}, "after": {"read_at": at}, "branch_id": actor.branch_id,
                           "owner_id": actor.id} for item_id in ids])
    return ids


async def mark_read(actor: Actor, item_id: uuid.UUID, at: dt.datetime | None = None,
                    lang: str | None = None) -> InboxItemOut:
    """Mark one item read (again is fine: it stays read with its first time)."""
    at = at or records.now()
    async with db.write_transaction():
        await access.authorize(actor, "update", "notification", item_id)
        await _mark(actor, InboxItem.id == item_id, at)
        row = await InboxItem.select(*COLUMNS).where(InboxItem.id == item_id).first()
    assert row is not None
    urgent = {item_id} if await InboxItem.exists().where((InboxItem.id == item_id) & URGENT) else set()
    return _to_api(row, reader_language(actor, lang), urgent)


async def mark_all_read(
    actor: Actor, up_to: dt.datetime | None = None, at: dt.datetime | None = None
) -> MarkedRead:
    """Mark every unread item read, or only those created up to `up_to` (what the user has actually seen)."""
    at = at or records.now()
    clause = InboxItem.created_at <= (up_to or at)
    async with db.write_transaction():
        ids = await _mark(actor, clause, at)
    return MarkedRead(marked=len(ids), unread=await unread_count(actor))
