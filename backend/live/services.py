"""`publish(event)` after commit, and `subscribe(...)` for the screens of this process.

An event names the changed record (its table, its id, the action) and the scope keys of the record and its parents
(branch, owner, project, visit, client, user): ids only, never a field value, so a subscriber learns nothing it
could not see by re-running its own (scoped) query. The change-log writer publishes one event per change-log row,
so every mutation announces itself without the service doing anything; `publish` is there for the rest.

Events are held until the writing transaction commits (`backend.db.after_commit`) and dropped on rollback. Then
they go to the transport (Litestar Channels, see `backend.live.transport`), which hands every worker's copy to
`deliver`; without a transport (a command, a test without the app) they go straight to this process's
subscribers. Nothing is replayed: a screen that (re)connects runs its query again.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import msgspec

from backend import db
from notifications import inbox

log = logging.getLogger("ipms.live")
SCOPE_KEYS = ("branch", "owner", "project", "visit", "client", "note", "milestone", "stage", "user")
QUEUE_LIMIT = 256  # events a slow subscriber may fall behind by; past it the oldest are dropped (it re-queries)


class Event(msgspec.Struct, frozen=True, kw_only=True):
    resource: str  # the table: project_milestones, notes, photos, inbox_items, …
    id: str
    action: str = "update"
    scope: dict[str, str] = msgspec.field(default_factory=dict)

    def matches(self, resource: str, keys: Mapping[str, str] | None) -> bool:
        """About `resource` ("*": any), and (when `keys` are given) about the record or a parent any names."""
        if resource != "*" and self.resource != resource:
            return False
        if not keys:
            return True
        return any((self.id if key == "id" else self.scope.get(key)) == str(value) for key, value in keys.items())


_transport: Callable[[list[Event]], None] | None = None
_subscribers: set[Subscription] = set()


def publish(event: Event) -> None:
    """Announce `event` once the current write transaction commits (at once outside one)."""
    publish_many([event])


def publish_many(events: list[Event]) -> None:
    if events:
        db.after_commit(lambda: _send(events))


def _send(events: list[Event]) -> None:
    if _transport is None:
        deliver(events)
    else:
        _transport(events)


def set_transport(send: Callable[[list[Event]], None] | None) -> None:
    """The app's transport while it runs (None: deliver in this process)."""
    global _transport
    _transport = send


def deliver(events: Iterable[Event]) -> None:
    """Hand events that reached this process to its subscribers (each filters by what it watches)."""
    batch = list(events)
    for subscription in list(_subscribers):
        subscription.offer(batch)


class Subscription:
    """The events of some resources (optionally narrowed to records or parents by scope key), as an async queue."""

    def __init__(self, watches: Iterable[tuple[str, Mapping[str, str] | None]]) -> None:
        self.watches = [(resource, dict(keys) if keys else None) for resource, keys in watches]
        self.queue: asyncio.Queue[Event] = asyncio.Queue()

    def offer(self, events: list[Event]) -> None:
        for event in events:
            if any(event.matches(resource, keys) for resource, keys in self.watches):
                if self.queue.qsize() >= QUEUE_LIMIT:
                    self.queue.get_nowait()
                self.queue.put_nowait(event)

    async def next(self) -> Event:
        return await self.queue.get()

    def drain(self) -> list[Event]:
        events = []
        while not self.queue.empty():
            events.append(self.queue.get_nowait())
        return events

    def close(self) -> None:
        _subscribers.discard(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()


def subscribe(watches: Iterable[tuple[str, Mapping[str, str] | None]]) -> Subscription:
    """Start receiving events of `watches` ((resource, keys) pairs); close the subscription when done."""
    subscription = Subscription(watches)
    _subscribers.add(subscription)
    return subscription


def subscriber_count() -> int:
    return len(_subscribers)


def _key(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, dict):  # a joined row
        value = value.get("id")
    return str(value) if isinstance(value, str | uuid.UUID | int) else None


def event_for_change(change: Mapping[str, Any]) -> Event:
    """The event of one change-log row: its table and id, its branch and owner, and the parent ids the row names
    (`row`, when the writer gives the whole record beside a diff of the changed fields only)."""
    diff = change.get("changes") or {}
    rows = [change.get("row") or {}, change.get("after") or {}, change.get("before") or {}, diff.get("after") or {},
            diff.get("before") or {}]
    scope: dict[str, str] = {}
    for name in SCOPE_KEYS:
        for row in rows:
            value = _key(row.get(name, row.get(f"{name}_id")))
            if value is not None:
                scope[name] = value
                break
    for name, key in (("branch", "branch_id"), ("owner", "owner_id")):
        value = _key(change.get(key))
        if value is not None:
            scope[name] = value
    return Event(resource=change["table"], id=str(change["row_id"]), action=change["action"], scope=scope)


def _announce_inbox_items(items: list[tuple[uuid.UUID, uuid.UUID]]) -> None:
    publish_many([Event(resource="inbox_items", id=str(item), action="create", scope={"user": str(user)})
                  for item, user in items])


inbox.created_listeners.append(_announce_inbox_items)
