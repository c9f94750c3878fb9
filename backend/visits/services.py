"""Visits and notes."""

from __future__ import annotations

import uuid
from typing import Any

from backend import records
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
