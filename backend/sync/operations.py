"""What each pushed operation kind does: one call of the service that owns the record, nothing more.

The services check access, versions and their own rules, and write the change log in the caller's transaction;
this module only turns an operation's `data` into that call.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from backend import access
from backend.access import Actor
from backend.clients import services as clients
from backend.errors import Invalid
from backend.service import Resource
from backend.sync.schemas import (
    OPERATIONS,
    ClientUpdateOp,
    NoteCreateOp,
    OpportunityMoveOp,
    VisitUpdateOp,
    fields_of,
)
from backend.visits import services as visits

Handler = Callable[[Actor, uuid.UUID, Any], Awaitable[msgspec.Struct]]


async def parse(actor: Actor, kind: str, data: dict[str, Any]) -> msgspec.Struct:
    """The op's payload, typed. An op on an existing record first checks that the caller sees it: an invisible
    record is the plain 404 whatever the payload says, exactly as over HTTP (backend.web.authorize_path_record)."""
    schema = OPERATIONS.get(kind)
    if schema is None:
        raise Invalid(f"Unknown operation kind {kind!r}; known: {', '.join(OPERATIONS)}", field="kind")
    target = TARGETS.get(kind)
    if target is not None:
        try:
            record_id = uuid.UUID(str(data.get("id")))
        except ValueError:
            raise Invalid(f"{kind}: id must be the UUID of the record to change", field="id") from None
        await access.authorize(actor, "read", target.name, record_id)
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


async def create_note(actor: Actor, op_id: uuid.UUID, data: NoteCreateOp) -> msgspec.Struct:
    values = fields_of(data)
    values["id"] = data.id or op_id
    return await visits.create_note(actor, values)


async def update_visit(actor: Actor, op_id: uuid.UUID, data: VisitUpdateOp) -> msgspec.Struct:
    return await visits.update_visit(actor, data.id, data.version, fields_of(data, "id", "version", "written_at"))


async def update_client(actor: Actor, op_id: uuid.UUID, data: ClientUpdateOp) -> msgspec.Struct:
    return await clients.update_client(actor, data.id, data.version, fields_of(data, "id", "version"))


async def move_opportunity(actor: Actor, op_id: uuid.UUID, data: OpportunityMoveOp) -> msgspec.Struct:
    return await clients.move_opportunity(actor, data.id, data.version, data.state, data.lost_reason)


HANDLERS: dict[str, Handler] = {
    "note.create": create_note,
    "visit.update": update_visit,
    "client.update": update_client,
    "opportunity.move": move_opportunity,
}
# Where to read the server's copy when an operation meets a newer version (conflict).
TARGETS: dict[str, Resource[Any]] = {
    "visit.update": visits.VISITS,
    "client.update": clients.CLIENTS,
    "opportunity.move": clients.OPPORTUNITIES,
}
