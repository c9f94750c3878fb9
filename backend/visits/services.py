"""Visits and notes."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from backend import access, records
from backend.access import Actor
from backend.errors import Invalid
from backend.service import ListQuery, Page, Resource
from backend.visits.schemas import NoteOut, VisitOut
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
_PARENT_COLUMNS = ("client", "project", "visit")


def check_one_parent(values: dict[str, Any], current: dict[str, Any] | None = None) -> None:
    """A note belongs to exactly one client, project or visit (and only someone who sees it may write one:
    the template checks the reference)."""
    if sum(values.get(p) is not None for p in _PARENT_COLUMNS) != 1:
        raise Invalid("A note needs exactly one of client_id, project_id or visit_id", field="client_id")


VISITS = Resource(VISIT_SPEC, VisitOut)
NOTES = Resource(NOTE_SPEC, NoteOut, on_create=check_one_parent)


async def list_visits(actor: Actor, query: ListQuery | None = None) -> Page[VisitOut]:
    return await VISITS.list(actor, query)


async def get_visit(actor: Actor, visit_id: uuid.UUID) -> VisitOut:
    return await VISITS.get(actor, visit_id)


async def update_visit(actor: Actor, visit_id: uuid.UUID, version: int, changes: dict[str, Any]) -> VisitOut:
    return await VISITS.update(actor, visit_id, version, changes)


async def list_notes(actor: Actor, query: ListQuery | None = None) -> Page[NoteOut]:
    return await NOTES.list(actor, query)


async def create_note(actor: Actor, values: dict[str, Any]) -> NoteOut:
    return await NOTES.create(actor, values)


async def clashes(actor: Actor, owner_id: uuid.UUID, start: dt.datetime, minutes: int,
                  except_id: uuid.UUID | None = None) -> list[VisitOut]:
    """The owner's other planned visits (that the actor may see) overlapping [start, start + minutes): a new or
    moved visit that clashes is flagged on the form before it is saved. One query over a day's window either side
    (a visit lasts at most a day), overlap worked out on those few rows."""
    end = start + dt.timedelta(minutes=minutes)
    query = Visit.select().where(
        (Visit.owner == owner_id) & (Visit.status == "planned") & (Visit.scheduled_at < end)
        & (Visit.scheduled_at > start - dt.timedelta(days=1)))
    if except_id is not None:
        query = query.where(Visit.id != except_id)
    rows = await access.scope(query, actor, "visit").order_by(Visit.scheduled_at).limit(50)
    return [VISITS.output(actor, row) for row in rows
            if row["scheduled_at"] + dt.timedelta(minutes=row["duration_minutes"]) > start]


async def list_visits_between(
    actor: Actor, start: dt.datetime, end: dt.datetime, *, owner: uuid.UUID | None = None, limit: int = 100
) -> list[VisitOut]:
    """Visits scheduled in [start, end) that `actor` may see, earliest first (e.g. today's viewings)."""
    if not access.can(actor, "list", "visit"):
        return []
    query = Visit.select().where((Visit.scheduled_at >= start) & (Visit.scheduled_at < end))
    if owner is not None:
        query = query.where(Visit.owner == owner)
    rows = await access.scope(query, actor, "visit").order_by(Visit.scheduled_at).limit(limit)
    return [VISITS.output(actor, row) for row in rows]
