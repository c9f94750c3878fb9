"""Many queued note creates in one transaction: `create_note`'s rules, checked once per batch instead of per note.

A drained outbox is mostly notes, and one `create_note` per note costs as much as a whole HTTP request (about ten
statements: visibility of the parent, insert, visibility of the result twice, fetch, change-log row). Here a run of
notes costs a handful of statements whatever its length, with the same rules as `create_note` and
`records.create_record`:

- exactly one parent, visible to the author (checked once per distinct parent, as `check_references` would);
- author and branch are the caller's; the role may create notes;
- after the insert, every note must be readable and writable by its author through `access.scope` (what
  `authorize(actor, "create", "note", id)` checks one by one), or nothing is kept;
- one change-log row per note, same transaction, same content as `record_change` writes;
- the op ids are stored with their results in the same transaction.

Anything unusual — a replayed op id, a note id that exists already, an invisible parent, a second note with the
same id in the batch — is not a candidate and goes through `create_note` one by one (`backend.sync.services`).
If the batch fails for any reason (a concurrent replay took an op id, a rule above), its transaction rolls back
whole and every op in it is retried one by one: the fast path can never answer differently from the slow one.
`tests/backend/sync/test_notes.py` checks that both paths store identical notes and change-log rows.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from backend import access, db, records
from backend.access import Actor
from backend.audit.services import record_changes
from backend.audit.tables import ClaimedId
from backend.errors import ServiceError
from backend.sync.schemas import NoteCreateOp
from backend.sync.tables import SyncOperation
from backend.visits.services import NOTE_SPEC, PARENTS
from backend.visits.tables import Note

_encoder = msgspec.json.Encoder(decimal_format="string")
Candidate = tuple[uuid.UUID, NoteCreateOp]  # (op id, payload)


class BatchRefused(Exception):
    """The batch cannot be applied as a whole; its ops go one by one."""


def note_id(op_id: uuid.UUID, data: NoteCreateOp) -> uuid.UUID:
    return data.id or op_id


def parent_of(data: NoteCreateOp) -> tuple[str, uuid.UUID] | None:
    named = [(key.removesuffix("_id"), getattr(data, key)) for key in PARENTS if getattr(data, key) is not None]
    return named[0] if len(named) == 1 else None


async def candidates(actor: Actor, ops: list[tuple[int, uuid.UUID, NoteCreateOp]]) -> set[int]:
    """Which of `ops` (position in the batch, op id, payload) can go in a batch: reads only, the batch re-checks
    what matters. The first of several ops with one op id or note id may; the others go one by one."""
    if not ops or not access.can(actor, "create", "note"):
        return set()
    note_ids = [note_id(op_id, data) for _, op_id, data in ops]
    seen_ops = await _existing(SyncOperation, [op_id for _, op_id, _ in ops])
    seen_notes = await _existing(Note, note_ids) | await _existing(ClaimedId, note_ids)
    visible: dict[tuple[str, uuid.UUID], bool] = {}
    chosen: set[int] = set()
    taken: set[uuid.UUID] = set()
    for (position, op_id, data), nid in zip(ops, note_ids, strict=True):
        parent = parent_of(data)
        if parent is None or op_id in seen_ops or nid in seen_notes or op_id in taken or nid in taken:
            continue
        if parent not in visible:
            try:
                await access.authorize(actor, "read", *parent)
                visible[parent] = True
            except ServiceError:
                visible[parent] = False
        if visible[parent]:
            chosen.add(position)
            taken |= {op_id, nid}
    return chosen


async def _existing(table: Any, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    pk = table._meta.primary_key
    found: set[uuid.UUID] = set()
    for start in range(0, len(ids), 500):
        rows = await table.select(pk).where(pk.is_in(ids[start:start + 500]))
        found |= {row[pk._meta.name] for row in rows}
    return found


async def create_many(actor: Actor, device_id: uuid.UUID, ops: list[Candidate]) -> list[dict[str, Any]]:
    """Insert the notes, check them, log them and claim their op ids, all in one transaction; the API records
    (as JSON values, exactly what a replay is answered)."""
    ids = [note_id(op_id, data) for op_id, data in ops]
    async with db.write_transaction():
        # The note ids are the device's own: claimed like every client-made id (backend.service.claim_id).
        await ClaimedId.insert(*(ClaimedId(id=nid, resource="note", creator=actor.id) for nid in ids))
        await Note.insert(*(
            Note(id=nid, branch=actor.branch_id, author=actor.id, body=data.body, client=data.client_id,
                 project=data.project_id, visit=data.visit_id, written_at=data.written_at,
                 clock_skewed=data.clock_skewed)
            for (_, data), nid in zip(ops, ids, strict=True)))
        for mode in ("read", "write"):
            allowed = await access.scope(Note.select(Note.id).where(Note.id.is_in(ids)), actor, "note", mode)
            if len(allowed) != len(ids):
                raise BatchRefused(f"{len(ids) - len(allowed)} notes would not be {mode}able by their author")
        rows = {row["id"]: row for row in await Note.select().where(Note.id.is_in(ids))}
        after = [rows[nid] for nid in ids]
        await record_changes([{"actor_id": actor.id, "action": "create", "table": Note._meta.tablename,
                               "row_id": row["id"], "after": row, "branch_id": row["branch"],
                               "owner_id": row["author"]} for row in after])
        stored = [_encoder.encode(records.to_api(NOTE_SPEC, actor, row)).decode() for row in after]
        claimed = await SyncOperation.insert(*(
            SyncOperation(id=op_id, user=actor.id, device_id=device_id, kind="note.create", result=result)
            for (op_id, _), result in zip(ops, stored, strict=True)
        )).on_conflict(action="DO NOTHING").returning(SyncOperation.id)
        if len(claimed) != len(ops):
            raise BatchRefused("an op id of this batch was taken meanwhile (a concurrent replay)")
    return [msgspec.json.decode(result) for result in stored]  # exactly what a replay will answer
