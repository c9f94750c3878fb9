"""Request bodies of `/api/sync/push` and the payload of each operation kind.

The batch envelope is checked by Litestar (a malformed envelope is a 400 for the whole batch); each operation's
`data` is checked on its own (`parse_operation`), so one bad operation is `rejected` and the others still apply.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec

from backend.clients.schemas import ClientUpdate, OpportunityMove
from backend.schemas import NO_NUL, LongText, Version
from backend.visits.schemas import Body, Status

MAX_OPS = 250
PAGE = 1000
MAX_PAGE = 5000
MAX_CURSOR = 2**63 - 1  # a BIGINT generation
MAX_OP_FIELDS = 50
Kind = Annotated[str, msgspec.Meta(min_length=1, max_length=32, pattern=NO_NUL)]
FieldName = Annotated[str, msgspec.Meta(max_length=64, pattern=NO_NUL)]


class PullRequest(msgspec.Struct, forbid_unknown_fields=True):
    """`cursor`: 0 at first, then the cursor of the last answer applied; `limit` caps records plus tombstones."""

    device_id: uuid.UUID
    cursor: Annotated[int, msgspec.Meta(ge=0, le=MAX_CURSOR)] = 0
    limit: Annotated[int, msgspec.Meta(ge=1, le=MAX_PAGE)] = PAGE


class PushOperation(msgspec.Struct, forbid_unknown_fields=True):
    op_id: uuid.UUID
    kind: Kind
    data: Annotated[dict[FieldName, Any], msgspec.Meta(max_length=MAX_OP_FIELDS)] = {}


class PushBatch(msgspec.Struct, forbid_unknown_fields=True):
    device_id: uuid.UUID
    ops: Annotated[list[PushOperation], msgspec.Meta(max_length=MAX_OPS)]


class NoteCreateOp(msgspec.Struct, forbid_unknown_fields=True):
    """`id` is the note's own UUID, made on the device (photos of the note name it); defaults to the op id."""

    body: Body
    id: uuid.UUID | None = None
    client_id: uuid.UUID | None = None
    project_id: uuid.UUID | None = None
    visit_id: uuid.UUID | None = None


class VisitUpdateOp(msgspec.Struct, forbid_unknown_fields=True):
    id: uuid.UUID
    version: Version
    status: Status | msgspec.UnsetType = msgspec.UNSET
    summary: LongText | msgspec.UnsetType = msgspec.UNSET


class ClientUpdateOp(ClientUpdate, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID


class OpportunityMoveOp(OpportunityMove, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID


OPERATIONS: dict[str, type[msgspec.Struct]] = {
    "note.create": NoteCreateOp,
    "visit.update": VisitUpdateOp,
    "client.update": ClientUpdateOp,
    "opportunity.move": OpportunityMoveOp,
}


def fields_of(data: msgspec.Struct, *leave_out: str) -> dict[str, Any]:
    """The fields the client actually sent (UNSET dropped), without `leave_out`."""
    return {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET and k not in leave_out}
