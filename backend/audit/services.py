"""Writing the change log. Every mutation calls `record_change(s)` inside its own transaction, which also
announces each change as a live event after that transaction commits (backend.live).

Writers do not wait for each other: `seq` comes from the table's sequence, so on PostgreSQL a transaction that
took seq n may commit after one that took n + 1. The feed reader (backend.audit.read) waits for such stragglers
instead of the writers queueing on one lock, as they used to (`pg_advisory_xact_lock` before every insert).
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import uuid
from typing import Any

from piccolo.utils.encoding import dump_json

from backend import db
from backend.audit.tables import ChangeLog
from backend.live.services import event_for_change, publish_many

CHUNK = 500
INSERT = "INSERT INTO change_log (at, actor_id, action, table_name, row_id, changes, branch_id, owner_id) VALUES "


def to_json(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    return value


def changed_fields(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any]:
    """`{"before": {...}, "after": {...}}` holding only the fields that differ (all fields on create/delete)."""
    before, after = before or {}, after or {}
    skip = {"updated_at", "version", "password_hash"}
    keys = [k for k in {**before, **after} if k not in skip and to_json(before.get(k)) != to_json(after.get(k))]
    return {
        "before": {k: to_json(before[k]) for k in keys if k in before},
        "after": {k: to_json(after[k]) for k in keys if k in after},
    }


async def record_change(
    *,
    actor_id: uuid.UUID | None,
    action: str,
    table: str,
    row_id: Any,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    branch_id: uuid.UUID | None = None,
    owner_id: uuid.UUID | None = None,
) -> None:
    """Append one change-log row. Must run inside the mutation's transaction, so both commit or neither."""
    await record_changes([{"actor_id": actor_id, "action": action, "table": table, "row_id": row_id,
                           "before": before, "after": after, "branch_id": branch_id, "owner_id": owner_id}])


async def record_changes(changes: list[dict[str, Any]]) -> None:
    """`record_change` for many rows at once (same keyword names per dict, or a ready `changes` diff instead of
    `before`/`after`): one multi-row INSERT per 500 rows, written as SQL directly because building Piccolo row
    objects and per-row query strings cost more than the database work (the escalation clock fires hundreds of
    timers per transaction; bench/clock.py)."""
    if not changes:
        return
    engine = db.current_engine()
    if engine.current_transaction.get() is None:
        raise RuntimeError("record_changes must run inside the mutation's transaction")
    at = dt.datetime.now(dt.UTC)
    rows = [
        (at, change.get("actor_id"), change["action"], change["table"], str(change["row_id"]),
         dump_json(change.get("changes") or changed_fields(change.get("before"), change.get("after"))),
         change.get("branch_id"), change.get("owner_id"))
        for change in changes
    ]
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start:start + CHUNK]
        await ChangeLog.raw(INSERT + ", ".join("({}, {}, {}, {}, {}, {}, {}, {})" for _ in chunk),
                            *(value for row in chunk for value in row))
    publish_many([event_for_change(change) for change in changes])  # live updates, once this commits
