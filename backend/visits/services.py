"""Visits and notes."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from backend import access, records
from backend.access import Actor
from backend.errors import Conflict, Invalid
from backend.visits.tables import Note, Visit

VISIT_SPEC = records.Spec(
    resource="visit", table=Visit, search=("address", "summary"),
    filters={"owner": uuid.UUID, "client": uuid.UUID, "project": uuid.UUID, "status": str},
    references={"client": "client", "project": "project"},
)
NOTE_SPEC = records.Spec(
    resource="note", table=Note, search=("body",),
    filters={"author": uuid.UUID, "client": uuid.UUID, "project": uuid.UUID, "visit": uuid.UUID},
    references={"client": "client", "project": "project", "visit": "visit"}, owner_field="author",
)
PARENTS = ("client_id", "project_id", "visit_id")


async def create_note(actor: Actor, values: dict[str, Any]) -> dict[str, Any]:
    """A note belongs to exactly one client, project or visit, and only someone who sees it may write one."""
    parents = [p for p in PARENTS if values.get(p) is not None]
    if len(parents) != 1:
        raise Invalid("A note needs exactly one of client_id, project_id or visit_id", field="client_id")
    if values.get("id") is not None:
        existing = await records.fetch(NOTE_SPEC, values["id"])
        if existing is not None:
            if existing["author"] != actor.id:
                raise Conflict("That note id is already taken", field="id")
            return records.to_api(NOTE_SPEC, actor, existing)  # a retry of a create that went through
    return await records.create_record(actor, NOTE_SPEC, values)


async def list_visits_between(
    actor: Actor, start: dt.datetime, end: dt.datetime, *, owner: uuid.UUID | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Visits scheduled in [start, end) that `actor` may see, earliest first (e.g. today's viewings)."""
    if not access.can(actor, "list", "visit"):
        return []
    query = Visit.select().where((Visit.scheduled_at >= start) & (Visit.scheduled_at < end))
    if owner is not None:
        query = query.where(Visit.owner == owner)
    rows = await access.scope(query, actor, "visit").order_by(Visit.scheduled_at).limit(limit)
    return [records.to_api(VISIT_SPEC, actor, row) for row in rows]
