"""Offline field kit sync: what a device pulls, and how its queued operations are applied exactly once.

Protocol (the field kit's side of it; every call carries the session cookie, and pushes the X-CSRF-Token header)
==============================================================================================================

Register the device first: ``PUT /api/auth/devices/{device_id}`` with ``{"label": "iPhone Safari"}``. The device
must belong to the signed-in user; anyone else's (or an unregistered) device id answers 404. One sync round:
push the outbox (batch after batch, each after the previous answer), then pull until ``more`` is false.

Pull — ``POST /api/sync/pull`` with ``{"device_id": UUID, "cursor": N, "limit": L}``
    A POST with the X-CSRF-Token header like any write: each pull records what the device now holds. ``cursor``
    is 0 the first time (or after the local cache was wiped), afterwards the ``cursor`` of the last answer the
    device *applied*. ``limit`` (default 1000, at most 5000) caps records plus tombstones per answer.
    Answer::

        {"cursor": 1764492160123,            # opaque integer: store it with the data, send it next time
         "reset": false,                     # true: delete every cached record of this user, then apply
         "more": false,                      # true: pull again at once with the new cursor (a page was cut)
         "records": {"client": [...], "project": [...], "opportunity": [...], "visit": [...],
                     "milestone": [...], "note": [...]},       # whole records as the JSON API shows them: upsert
         "tombstones": {"client": ["uuid", ...], ...},           # ids to delete locally (same six keys)
         "window": {"from": "...", "to": "..."}, "server_time": "..."}

    ``records`` holds every record of the device's set (see ``backend.sync.dataset``: visits from 7 days ago to
    14 days ahead, their clients and project summaries, the user's own clients and open projects, open
    opportunities, open milestones due in the window, notes of the last 90 days on all of those) that the device
    does not hold in exactly this form: new, changed, or *entered* the user's scope (a client reassigned to the
    agent arrives with its visits and notes). ``tombstones`` name every record the device holds that left the set:
    reassigned away, deleted, closed, out of the window, no longer visible. Parents come before children.
    Apply one answer and store its cursor in a single IndexedDB transaction; run one pull at a time per device
    (``navigator.locks``); never send a cursor older than the one stored. If an answer is lost, pull again with the
    cursor you still have: the server undoes the lost generation and answers again. Any other unknown cursor
    answers ``reset: true`` with everything.

Push — ``POST /api/sync/push`` with ``{"device_id": UUID, "device_now"?: time, "ops": [{"op_id": UUID,
"kind": ..., "data": {...}}]}``
    At most 250 operations per batch (the field kit sends up to 100). ``op_id`` is made on the device when the
    operation is queued and never changes. ``device_now`` is the device's clock when it sent the batch: each
    ``written_at`` is moved by (server now − device now), so a phone whose clock is off (set to 2020, say) still
    stamps its notes with the real time, and a difference over 10 minutes is flagged on the note
    (``clock_skewed``). Kinds and their ``data``:

    - ``note.create``: ``{"id": note UUID (made on the device; defaults to op_id), "body": text, and exactly one
      of "client_id" | "project_id" | "visit_id", "written_at"?: device time with UTC offset}``. Notes never
      conflict.
    - ``visit.update``: ``{"id", "version": base version, "status"?: planned|done|cancelled|no_show,
      "summary"?}``
    - ``client.update``: ``{"id", "version", and any of name, phone, intent, budget_min, budget_max,
      area_preference, source, tags, private_notes}``
    - ``opportunity.move``: ``{"id", "version", "state": potential|following|won|lost, "lost_reason"?}``

    Operations run in the order sent, each in a transaction of its own (a run of plain note creates shares one,
    and falls back to one by one if anything in it fails): one failing never undoes another. Answer (200)::

        {"results": [{"op_id", "kind", "status": "applied", "record": {...}},
                     {"op_id", "kind", "status": "duplicate", "record": {... as first applied}},
                     {"op_id", "kind", "status": "conflict", "error": {"error": "conflict", "message", "field":
                      "version"}, "current": {server copy}},
                     {"op_id", "kind", "status": "rejected", "error": {"error": "invalid" | "not_found" |
                      "forbidden" | "conflict" | "internal_error", "message", "field"}}],
         "applied": 1, "duplicate": 1, "conflict": 1, "rejected": 1}

    ``applied`` and ``duplicate`` are done: drop the item from the outbox. ``conflict``: keep the local version,
    show both to the user; to keep theirs, queue a new operation based on ``current.version``. ``rejected``:
    keep it visible with the reason (``internal_error`` may be retried). Conflicting and rejected operations leave
    nothing behind, so the same op id may be sent again. A lost answer is harmless: send the same batch again;
    what was applied answers ``duplicate`` and nothing is doubled. An op id already used by another user is
    ``rejected`` (field ``op_id``). A malformed envelope (not a UUID, more than 250 ops) is a 400 for the whole
    batch; a malformed ``data`` only rejects its own operation.

Photos are not pushed here: upload each with its own UUID through ``POST /api/photos`` (idempotent by id), after
the note it belongs to was answered ``applied``/``duplicate`` when it hangs off a note.

Why nothing is skipped or applied twice
=======================================

The pull cursor is not a change-log sequence number, so it cannot pass one that is not yet committed: it names a
*generation* of the device's manifest (``backend.sync.tables.SyncManifest``: every record the device was given,
with a digest of the exact copy). Each pull reads the user's current set from committed data, diffs it against
the manifest, sends the difference and stores the new manifest. A row committed late — whatever sequence number
or timestamp it carries — is simply absent from the manifest until the first pull that can see it, which sends
it. Digests instead of versions also catch the changes that do not bump a version (the lifecycle's rollups, the
computed ``overdue`` flags). The cost is that every pull reads the device's whole set (bounded by the window).

A pushed operation claims its op id (``INSERT … ON CONFLICT DO NOTHING`` on ``sync_operations``) in the same
transaction as its effect, so the claim commits exactly when the effect does (a batch of notes stores its op ids
with the notes). A concurrent replay of the same op id — a retry sent while the first request still runs — waits
on that row on PostgreSQL (one writer at a time on SQLite) and then answers ``duplicate``; both requests walk the
outbox in the same order, so the device's order holds. Pulls of one device are serialised on its
``sync_devices`` row. Effects go through the owning services (``create_note``, ``update_record``,
``update_client``, ``move_opportunity``; runs of notes through ``backend.sync.notes``, which applies
``create_note``'s rules to many at once), which check access and write one change-log row per changed record in
the same transaction. Even with the op row gone, a replayed note is found by its own id and a replayed edit meets
its own version bump as a conflict.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from typing import Any

import msgspec

from backend import access, db
from backend.access import Actor
from backend.errors import Conflict, NotFound, ServiceError
from backend.specs import now
from backend.sync import dataset, manifest, notes, operations, schemas
from backend.sync.schemas import (
    OpResult,
    PullAnswer,
    PushAnswer,
    PushOperation,
    SyncRecords,
    SyncTombstones,
    SyncWindow,
)
from backend.sync.tables import SyncOperation

log = logging.getLogger("ipms.sync")
PAGE, MAX_PAGE = schemas.PAGE, schemas.MAX_PAGE
_encoder = msgspec.json.Encoder(decimal_format="string")
SKEW_FLAGGED = dt.timedelta(minutes=10)


async def pull(actor: Actor, device_id: uuid.UUID, cursor: int, limit: int = PAGE) -> PullAnswer:
    """One page of what the device lacks, and the cursor naming what it holds once it applied the page."""
    await access.authorize(actor, "read", "device", device_id)
    data = await dataset.load(actor)
    current = data.digests()
    async with db.write_transaction():
        state = await manifest.lock_device(device_id)
        reset = cursor == 0 or cursor not in (state.generation, state.base)
        if reset:
            await manifest.forget(device_id)
        elif cursor == state.generation:
            await manifest.settle(device_id)
        else:
            await manifest.undo(device_id, state)
        holding = {} if reset else await manifest.held(device_id)
        wanted = [key for key in holding if key not in current]
        wanted += [key for key, digest in current.items() if holding.get(key) != digest]
        page = wanted[:limit]
        if page or reset:
            generation = max(state.generation + 1, time.time_ns() // 1_000_000)
            await manifest.record_sent(device_id, generation, {key: current.get(key, "") for key in page}, holding)
            await manifest.advance(device_id, generation, 0 if reset else cursor)
        else:
            generation = cursor
            if (state.generation, state.base) != (cursor, cursor):
                await manifest.advance(device_id, cursor, cursor)
    found: dict[str, list[dict[str, Any]]] = {r: [] for r in dataset.RESOURCES}
    gone: dict[str, list[uuid.UUID]] = {r: [] for r in dataset.RESOURCES}
    for resource, record_id in page:
        record = data.records[resource].get(record_id)
        if record is None:
            gone[resource].append(record_id)
        else:
            found[resource].append(record)
    return PullAnswer(cursor=generation, reset=reset, more=len(wanted) > len(page), records=SyncRecords(**found),
                      tombstones=SyncTombstones(**gone), window=SyncWindow(from_=data.window_from, to=data.window_to),
                      server_time=data.now)


def correct_times(parsed: list[Any], device_now: dt.datetime | None, server_now: dt.datetime) -> None:
    """Move each operation's `written_at` by the batch's clock offset (server now − device now) and flag an offset
    over 10 minutes on the note; never into the future. Without `device_now` (an older field kit) the times stay as
    sent; a time without an offset is taken as UTC."""
    offset = dt.timedelta(0)
    if device_now is not None:
        offset = server_now - (device_now if device_now.tzinfo else device_now.replace(tzinfo=dt.UTC))
    skewed = abs(offset) > SKEW_FLAGGED
    for index, data in enumerate(parsed):
        written = getattr(data, "written_at", None)
        if written is None:
            continue
        written = written if written.tzinfo else written.replace(tzinfo=dt.UTC)
        changes: dict[str, Any] = {"written_at": min(written + offset, server_now)}
        if hasattr(data, "clock_skewed"):
            changes["clock_skewed"] = skewed
        parsed[index] = msgspec.structs.replace(data, **changes)


async def push(actor: Actor, device_id: uuid.UUID, ops: list[PushOperation],
               device_now: dt.datetime | None = None) -> PushAnswer:
    """Apply a device's batch in order, each operation exactly once, each answered on its own.

    Runs of note creates that need no special care go in one transaction each (`backend.sync.notes`); every
    other operation runs alone in a transaction of its own, so a failure undoes only itself, and no lock is held
    across operations (an edit waiting for a row never holds the change-log lock another writer needs).
    """
    await access.authorize(actor, "update", "device", device_id)
    answers: list[dict[str, Any] | None] = [None] * len(ops)
    parsed: list[Any] = [None] * len(ops)
    for index, op in enumerate(ops):
        try:
            parsed[index] = await operations.parse(actor, op.kind, op.data)
        except ServiceError as exc:
            answers[index] = {"op_id": op.op_id, "kind": op.kind} | _refusal(exc)
    correct_times(parsed, device_now, now())
    eligible = await notes.candidates(actor, [(i, op.op_id, parsed[i]) for i, op in enumerate(ops)
                                              if answers[i] is None and op.kind == "note.create"])
    index = 0
    while index < len(ops):
        if answers[index] is not None:
            index += 1
            continue
        end = index
        while end < len(ops) and answers[end] is None and end in eligible:
            end += 1
        if end > index:
            await _apply_run(actor, device_id, ops, parsed, answers, index, end)
            index = end
        else:
            answers[index] = await _apply_alone(actor, device_id, ops[index], parsed[index])
            index += 1
    results = [answer for answer in answers if answer is not None]
    counts = {status: 0 for status in ("applied", "duplicate", "conflict", "rejected")}
    for result in results:
        counts[result["status"]] += 1
    return PushAnswer(results=[msgspec.convert(result, OpResult) for result in results], **counts)


async def _apply_run(actor: Actor, device_id: uuid.UUID, ops: list[PushOperation], parsed: list[Any],
                     answers: list[dict[str, Any] | None], start: int, end: int) -> None:
    run = [(ops[i].op_id, parsed[i]) for i in range(start, end)]
    try:
        created = await notes.create_many(actor, device_id, run)
    except Exception as exc:
        log.info("Batch of %d notes taken one by one: %s", len(run), exc)
        for i in range(start, end):
            answers[i] = await _apply_alone(actor, device_id, ops[i], parsed[i])
        return
    for i, record in zip(range(start, end), created, strict=True):
        answers[i] = {"op_id": ops[i].op_id, "kind": ops[i].kind, "status": "applied", "record": record}


class _Replay(Exception):
    """The op id was claimed before: nothing to do, answer from the stored result."""


async def _apply_alone(actor: Actor, device_id: uuid.UUID, op: PushOperation, data: Any) -> dict[str, Any]:
    """One operation in a transaction of its own: claim the op id, apply, store the result — or none of it."""
    answer: dict[str, Any] = {"op_id": op.op_id, "kind": op.kind}
    try:
        async with db.write_transaction():
            claimed = await SyncOperation.insert(
                SyncOperation(id=op.op_id, user=actor.id, device_id=device_id, kind=op.kind, result="{}")
            ).on_conflict(action="DO NOTHING").returning(SyncOperation.id)
            if not claimed:
                raise _Replay()
            stored = _encoder.encode(await operations.HANDLERS[op.kind](actor, op.op_id, data))
            await SyncOperation.update({SyncOperation.result: stored.decode()}).where(SyncOperation.id == op.op_id)
        return answer | {"status": "applied", "record": msgspec.json.decode(stored)}  # as a replay will answer
    except _Replay:
        return answer | await _replayed(actor, op.op_id)
    except ServiceError as exc:
        refusal = _refusal(exc)
        if refusal["status"] == "conflict" and refusal.get("current") is None:
            refusal["current"] = await _server_copy(actor, op.kind, data)
        return answer | refusal
    except Exception:
        log.exception("Sync operation %s (%s) failed", op.op_id, op.kind)
        return answer | {"status": "rejected", "error": {
            "error": "internal_error", "message": "The server could not apply this change; try again later.",
            "field": None}}


async def _replayed(actor: Actor, op_id: uuid.UUID) -> dict[str, Any]:
    row = await access.scope(SyncOperation.select(SyncOperation.result).where(SyncOperation.id == op_id), actor,
                             "sync_operation").first()
    if row is None:  # claimed, so it exists: another user's
        return _refusal(Conflict("This operation id was already used; queue the change under a new id",
                                 field="op_id"))
    result = row["result"]
    return {"status": "duplicate", "record": msgspec.json.decode(result) if isinstance(result, str | bytes) else result}


def _refusal(exc: ServiceError) -> dict[str, Any]:
    error = {"error": exc.code, "message": exc.message, "field": exc.field}
    if isinstance(exc, Conflict) and exc.field == "version":
        return {"status": "conflict", "error": error, "current": exc.extra.get("current")}
    extra = {"current": exc.extra["current"]} if "current" in exc.extra else {}
    return {"status": "rejected", "error": error, **extra}


async def _server_copy(actor: Actor, kind: str, data: Any) -> dict[str, Any] | None:
    """The record as it stands now, for a conflict found by the UPDATE itself (a concurrent writer won)."""
    resource = operations.TARGETS.get(kind)
    if resource is None:
        return None
    try:
        current: dict[str, Any] = msgspec.to_builtins(await resource.get(actor, data.id))
        return current
    except NotFound:
        return None
