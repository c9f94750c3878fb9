"""`notify()`: the one way anything is announced to a user.

Items are rows written inside the caller's transaction, so an alert exists exactly when the event that caused
it committed; nothing travels through process memory. Push delivery rows are added here, in the same call.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from notifications.push.deliveries import add_deliveries
from notifications.tables import URGENCIES, InboxItem

INSERT_CHUNK = 400
TITLE_MAX = 200
BODY_MAX = 4000
# Called with (item id, user id) pairs inside the transaction that wrote them (backend.live announces them after
# it commits); a hook, because this library imports nothing of backend.
created_listeners: list[Callable[[list[tuple[uuid.UUID, uuid.UUID]]], None]] = []


@dataclass(frozen=True, slots=True)
class Notice:
    user_id: uuid.UUID
    kind: str
    title: str
    body: str = ""
    link: str = ""
    topic: str = ""
    urgency: str = "normal"
    source_id: uuid.UUID | None = None
    params: dict[str, Any] = field(default_factory=dict)  # JSON: what the reader's language is rendered from
    subject_id: uuid.UUID | None = None


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def notify(notices: Iterable[Notice], *, at: dt.datetime | None = None) -> list[uuid.UUID]:
    """Create one inbox item per notice inside the caller's transaction, and its push deliveries; returns their ids."""
    batch = list(notices)
    created = at or dt.datetime.now(dt.UTC)
    rows = []
    for notice in batch:
        if notice.urgency not in URGENCIES:
            raise ValueError(f"urgency must be one of {URGENCIES}, got {notice.urgency!r}")
        rows.append((uuid.uuid4(), notice.user_id, notice.kind, _clip(notice.title, TITLE_MAX),
                     _clip(notice.body, BODY_MAX), notice.link[:500], notice.topic[:64], notice.urgency,
                     notice.source_id, json.dumps(notice.params, ensure_ascii=False), notice.subject_id, created))
    if not rows:
        return []
    if InboxItem._meta.db.current_transaction.get() is None:
        raise RuntimeError("notify() must run inside the transaction of the event it announces")
    # One multi-row INSERT per chunk, as SQL: Piccolo's per-row objects and query strings cost more than the
    # insert itself when the clock announces hundreds of timers at once (bench/clock.py).
    for start in range(0, len(rows), INSERT_CHUNK):
        chunk = rows[start:start + INSERT_CHUNK]
        values = ", ".join("({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})" for _ in chunk)
        await InboxItem.raw(
            'INSERT INTO inbox_items (id, "user", kind, title, body, link, topic, urgency, source_id, params, '
            "subject_id, created_at) "
            f"VALUES {values}", *(value for row in chunk for value in row))
    ids = [row[0] for row in rows]
    await add_deliveries(batch, ids, created)
    for listener in created_listeners:
        listener([(row[0], row[1]) for row in rows])
    return ids
