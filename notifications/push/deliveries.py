"""Delivery rows for new inbox items: one per subscribed device of the recipient, in the caller's transaction."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any, Protocol

from notifications.push.payload import build_payload, project_id_of, push_topic
from notifications.push.preferences import Preference, urgency_header
from notifications.push.tables import PushDelivery, PushPreference, PushSubscription

INSERT_CHUNK = 400
QUERY_CHUNK = 500


class Announcement(Protocol):
    """What `add_deliveries` reads of a notice (`notifications.inbox.Notice`)."""

    @property
    def user_id(self) -> uuid.UUID: ...
    @property
    def kind(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def body(self) -> str: ...
    @property
    def link(self) -> str: ...
    @property
    def topic(self) -> str: ...
    @property
    def urgency(self) -> str: ...


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


async def _recipients(
    user_ids: list[uuid.UUID],
) -> tuple[dict[uuid.UUID, list[dict[str, Any]]], dict[uuid.UUID, Preference]]:
    subscriptions: dict[uuid.UUID, list[dict[str, Any]]] = {}
    preferences: dict[uuid.UUID, Preference] = {}
    for chunk in _chunks(user_ids, QUERY_CHUNK):
        rows = await PushSubscription.select(
            PushSubscription.id, PushSubscription.user,
            PushSubscription.user.role.as_alias("role"),
            PushSubscription.user.branch.timezone.as_alias("timezone"),  # type: ignore[union-attr]
        ).where(PushSubscription.user.is_in(chunk))
        for row in rows:
            subscriptions.setdefault(row["user"], []).append(row)
        if not rows:
            continue
        for pref in await PushPreference.select().where(PushPreference.user.is_in(chunk)):
            preferences[pref["user"]] = Preference(frozenset(pref["muted_kinds"] or ()), pref["quiet_start"],
                                                   pref["quiet_end"])
    return subscriptions, preferences


async def add_deliveries(notices: Sequence[Announcement], item_ids: Sequence[uuid.UUID | None],
                         at: dt.datetime) -> int:
    """Queue a push per subscribed device for each notice (whose inbox item is `item_ids[i]`); returns the count.

    Muted kinds make no row; quiet hours set `next_attempt_at` to their end (escalations are not held).
    A notice's `topic` is its project's id (hex): it becomes the `Topic` header and the notification's tag.
    """
    at = at.astimezone(dt.UTC)
    subscriptions, preferences = await _recipients(sorted({n.user_id for n in notices}))
    if not subscriptions:
        return 0
    rows: list[PushDelivery] = []
    for notice, item_id in zip(notices, item_ids, strict=True):
        devices = subscriptions.get(notice.user_id)
        if not devices:
            continue
        preference = preferences.get(notice.user_id, Preference())
        role, timezone = devices[0]["role"], devices[0]["timezone"]
        if not preference.pushes(notice.kind, role):
            continue
        topic = push_topic(notice.topic)
        urgency = urgency_header(notice.kind, notice.urgency)
        tag = f"p-{topic}" if topic else f"{notice.kind}-{item_id or uuid.uuid4()}"
        payload = build_payload(title=notice.title, body=notice.body, url=notice.link, tag=tag,
                                project_id=project_id_of(notice.topic), kind=notice.kind, urgency=urgency).decode()
        due = preference.held_until(at, timezone, notice.kind)
        rows.extend(
            PushDelivery(subscription=device["id"], user=notice.user_id, inbox_item=item_id, kind=notice.kind[:32],
                         urgency=urgency, topic=topic, payload=payload, next_attempt_at=due, created_at=at)
            for device in devices
        )
    for chunk in _chunks(rows, INSERT_CHUNK):
        await PushDelivery.insert(*chunk)
    return len(rows)
