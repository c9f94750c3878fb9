"""`use_live_query`: a screen's query that runs again when something it shows changes (backend.live).

A screen names what it shows as watches, (table, scope keys) pairs: `("project_milestones", {"project": id})`.
For each event that matches, the session re-checks access before anything happens: the changed record (or, for a
removal, its parent) must be one the signed-in user may read now, or the event is dropped. Then the screen's own
query runs again (scoped as always), so nothing reaches the page that the query would not show. Events for the
same screen within `COALESCE_SECONDS` give one re-query. Nothing is replayed: a reconnect rebuilds the layout,
whose first render runs the query afresh.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from reactpy import use_async_effect

from backend import access
from backend.access import Actor
from backend.errors import Forbidden, NotFound
from backend.live import services as live
from backend.live.services import Event
from pwa.ui import App, Query, use_query

log = logging.getLogger("ipms.pwa.live")
COALESCE_SECONDS = 0.2
Watch = tuple[str, Mapping[str, Any] | None]
RESOURCES = {table._meta.tablename: name for name, table in access.TABLES.items()}
PARENTS = ("visit", "project", "client")  # parents whose visibility vouches for a record they hold
REMOVALS = frozenset({"delete", "remove_member", "reassign", "cancel", "void", "revoke"})


def _uuid(value: str) -> Any:
    try:
        return uuid.UUID(value)
    except ValueError:
        return value


async def _readable(actor: Actor, resource: str, record_id: str) -> bool:
    if not access.can(actor, "read", resource):
        return False
    try:
        await access.authorize(actor, "read", resource, _uuid(record_id))
    except (NotFound, Forbidden):
        return False
    return True


async def may_see(actor: Actor, event: Event) -> bool:
    """Whether `actor` may know that this record changed: they may read it now; or it is gone from their view
    (removed, reassigned) or is a part without an access rule of its own (a stage), and they may read its parent."""
    if event.resource == "inbox_items":
        return str(actor.id) in (event.scope.get("user"), event.scope.get("owner"))
    resource = RESOURCES.get(event.resource)
    if resource is not None and await _readable(actor, resource, event.id):
        return True
    if resource is not None and event.action not in REMOVALS:
        return False
    for parent in PARENTS:
        if parent in event.scope and await _readable(actor, parent, event.scope[parent]):
            return True
    return False


def _keys(watches: Sequence[Watch]) -> list[tuple[str, dict[str, str] | None]]:
    return [(resource, {k: str(v) for k, v in keys.items() if v is not None} if keys else None)
            for resource, keys in watches]


def use_live_updates(actor: Actor | None, watches: Sequence[Watch], on_change: Callable[[], None]) -> None:
    """Call `on_change()` when a watched record changes that `actor` may see (at most once per 200 ms window)."""
    normalized = _keys(watches)
    signature = repr((str(actor.id) if actor else "", normalized))

    @use_async_effect(dependencies=[signature])
    async def listen() -> None:
        if actor is None or not normalized:
            return
        with live.subscribe(normalized) as subscription:
            while True:
                events = [await subscription.next()]
                await asyncio.sleep(COALESCE_SECONDS)  # what else arrives meanwhile is one re-query with it
                events += subscription.drain()
                try:
                    if await _any_visible(actor, events):
                        on_change()
                except Exception:
                    log.exception("Checking a live event failed")


async def _any_visible(actor: Actor, events: list[Event]) -> bool:
    seen: set[tuple[str, str, str]] = set()
    for event in events:
        key = (event.resource, event.id, event.action)
        if key in seen:
            continue
        seen.add(key)
        if await may_see(actor, event):
            return True
    return False


def use_live_query(app: App, load: Callable[[], Awaitable[Any]], *deps: str | int | None,
                   watch: Sequence[Watch] = ()) -> Query:
    """`use_query` whose data is loaded again whenever a watched record that the user may see changes."""
    query = use_query(load, *deps)
    use_live_updates(app.actor, watch, query.reload)
    return query
