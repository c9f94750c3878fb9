"""Request bodies of `/api/sync/push`, the payload of each operation kind, and the replies of pull and push.

The batch envelope is checked by Litestar (a malformed envelope is a 400 for the whole batch); each operation's
`data` is checked on its own (`parse_operation`), so one bad operation is `rejected` and the others still apply.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

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
    """`device_now`: the device's clock (with its UTC offset) when it sent the batch; the server corrects each
    operation's `written_at` by the difference to its own clock. Older field kits send none."""

    device_id: uuid.UUID
    ops: Annotated[list[PushOperation], msgspec.Meta(max_length=MAX_OPS)]
    device_now: dt.datetime | None = None


class NoteCreateOp(msgspec.Struct, forbid_unknown_fields=True):
    """`id` is the note's own UUID, made on the device (photos of the note name it); defaults to the op id.
    `written_at`: the device's time when the note was queued, with its UTC offset. `clock_skewed` is the
    server's finding (`backend.sync.services.correct_times`); a value sent is overwritten."""

    body: Body
    id: uuid.UUID | None = None
    client_id: uuid.UUID | None = None
    project_id: uuid.UUID | None = None
    visit_id: uuid.UUID | None = None
    written_at: dt.datetime | None = None
    clock_skewed: bool = False


class VisitUpdateOp(msgspec.Struct, forbid_unknown_fields=True):
    """`written_at` (the device's time of the change) is accepted like every queued operation's; a visit keeps
    only its server-side `updated_at`."""

    id: uuid.UUID
    version: Version
    status: Status | msgspec.UnsetType = msgspec.UNSET
    summary: LongText | msgspec.UnsetType = msgspec.UNSET
    written_at: dt.datetime | None = None


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


# Replies. The field kit reads these keys (pwa/static/fieldkit/sync.js); records stay the JSON API's own records,
# typed per resource by the resource's `*Out` struct, so here they are plain objects.
Record = dict[str, Any]


class SyncRecords(msgspec.Struct, kw_only=True):
    """Whole records to upsert, per resource, parents before children (`backend.sync.dataset.RESOURCES`)."""

    client: list[Record]
    project: list[Record]
    opportunity: list[Record]
    visit: list[Record]
    milestone: list[Record]
    note: list[Record]


class SyncTombstones(msgspec.Struct, kw_only=True):
    """Ids of records the device holds that left its set: delete them locally."""

    client: list[uuid.UUID]
    project: list[uuid.UUID]
    opportunity: list[uuid.UUID]
    visit: list[uuid.UUID]
    milestone: list[uuid.UUID]
    note: list[uuid.UUID]


class SyncWindow(msgspec.Struct, kw_only=True):
    """The visit window the device's set was chosen by."""

    from_: dt.datetime = msgspec.field(name="from")
    to: dt.datetime


class PullAnswer(msgspec.Struct, kw_only=True):
    """`cursor`: store it with the data and send it next; `reset`: drop every cached record first; `more`: pull
    again at once."""

    cursor: int
    reset: bool
    more: bool
    records: SyncRecords
    tombstones: SyncTombstones
    window: SyncWindow
    server_time: dt.datetime


class OpError(msgspec.Struct, kw_only=True):
    error: str
    message: str
    field: str | None


class OpResult(msgspec.Struct, kw_only=True):
    """One operation's outcome: `record` when applied or a duplicate, `error` when it conflicted or was rejected,
    `current` (the server's copy, null when there is none to show) with a conflict."""

    op_id: uuid.UUID
    kind: str
    status: Literal["applied", "duplicate", "conflict", "rejected"]
    record: Record | msgspec.UnsetType = msgspec.UNSET
    error: OpError | msgspec.UnsetType = msgspec.UNSET
    current: Record | msgspec.UnsetType | None = msgspec.UNSET


class PushAnswer(msgspec.Struct, kw_only=True):
    """Each operation's result in the order sent, and how many ended each way."""

    results: list[OpResult]
    applied: int
    duplicate: int
    conflict: int
    rejected: int
