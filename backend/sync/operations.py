"""What each pushed operation kind does: one call of the service that owns the record, nothing more.

The services check access, versions and their own rules, and write the change log in the caller's transaction;
this module only turns an operation's `data` into that call.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from backend import records
from backend.access import Actor
from backend.clients import services as clients
from backend.errors import Invalid
from backend.sync.schemas import (
    OPERATIONS,
    ClientUpdateOp,
    NoteCreateOp,
    OpportunityMoveOp,
    VisitUpdateOp,
    fields_of,
)
from backend.visits import services as visits

Handler = Callable[[Actor, uuid.UUID, Any], Awaitable[dict[str, Any]]]


def parse(kind: str, data: dict[str, Any]) -> msgspec.Struct:
    schema = OPERATIONS.get(kind)
    if schema is None:
        raise Invalid(f"Unknown operation kind {kind!r}; known: {', '.join(OPERATIONS)}", field="kind")
    try:
        return msgspec.convert(data, schema)
    except msgspec.ValidationError as exc:
        raise Invalid(f"{kind}: {exc}", field=_field_named(str(exc))) from None


def _field_named(message: str) -> str | None:
    """msgspec says "... - at `$.version`" or "Object missing required field `body`"."""
    if "`$." in message:
        return message.rsplit("`$.", 1)[1].split("`")[0].split(".")[0].split("[")[0]
    parts = message.split("`")
    return parts[1] if "field `" in message and len(parts) >= 3 else None


async def create_note(actor: Actor, op_id: uuid.UUID, data: NoteCreateOp) -> dict[str, Any]:
    values = fields_of(data)
    values["id"] = data.id or op_id
    return await visits.create_note(actor, values)


async def update_visit(actor: Actor, op_id: uuid.UUID, data: VisitUpdateOp) -> dict[str, Any]:
    changes = fields_of(data, "id", "version")
    return await records.update_record(actor, visits.VISIT_SPEC, data.id, data.version, changes)


async def update_client(actor: Actor, op_id: uuid.UUID, data: ClientUpdateOp) -> dict[str, Any]:
    return await clients.update_client(actor, data.id, data.version, fields_of(data, "id", "version"))


async def move_opportunity(actor: Actor, op_id: uuid.UUID, data: OpportunityMoveOp) -> dict[str, Any]:
    return await clients.move_opportunity(actor, data.id, data.version, data.state, data.lost_reason)


HANDLERS: dict[str, Handler] = {
    "note.create": create_note,
    "visit.update": update_visit,
    "client.update": update_client,
    "opportunity.move": move_opportunity,
}
# Where to read the server's copy when an operation meets a newer version (conflict).
TARGETS: dict[str, records.Spec] = {
    "visit.update": visits.VISIT_SPEC,
    "client.update": clients.CLIENT_SPEC,
    "opportunity.move": clients.OPPORTUNITY_SPEC,
}
