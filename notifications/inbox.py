"""`notify()`: the one way anything is announced to a user.

Items are rows written inside the caller's transaction, so an alert exists exactly when the event that caused
it committed; nothing travels through process memory. Push delivery rows are added here, in the same call.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from notifications.push.deliveries import add_deliveries
from notifications.tables import URGENCIES, InboxItem

INSERT_CHUNK = 400
TITLE_MAX = 200
BODY_MAX = 4000


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


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def notify(notices: Iterable[Notice], *, at: dt.datetime | None = None) -> list[uuid.UUID]:
    """Create one inbox item per notice inside the caller's transaction, and its push deliveries; returns their ids."""
    batch = list(notices)
    items = []
    for notice in batch:
        if notice.urgency not in URGENCIES:
            raise ValueError(f"urgency must be one of {URGENCIES}, got {notice.urgency!r}")
        item = InboxItem(
            user=notice.user_id, kind=notice.kind, title=_clip(notice.title, TITLE_MAX),
            body=_clip(notice.body, BODY_MAX), link=notice.link[:500], topic=notice.topic[:64],
            urgency=notice.urgency, source_id=notice.source_id,
        )
        if at is not None:
            item.created_at = at
        items.append(item)
    if not items:
        return []
    if InboxItem._meta.db.current_transaction.get() is None:
        raise RuntimeError("notify() must run inside the transaction of the event it announces")
    for start in range(0, len(items), INSERT_CHUNK):
        await InboxItem.insert(*items[start:start + INSERT_CHUNK])
    await add_deliveries(batch, [item.id for item in items], at or dt.datetime.now(dt.timezone.utc))
    return [item.id for item in items]
