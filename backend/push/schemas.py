"""Request bodies of the push API (a browser's `PushSubscription.toJSON()` plus the device it belongs to)."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec

Url = Annotated[str, msgspec.Meta(min_length=8, max_length=2048)]
HHMM = Annotated[str, msgspec.Meta(pattern=r"^\d{2}:\d{2}$")]


class SubscriptionKeys(msgspec.Struct):
    p256dh: Annotated[str, msgspec.Meta(min_length=80, max_length=100)]
    auth: Annotated[str, msgspec.Meta(min_length=16, max_length=50)]


class SubscriptionIn(msgspec.Struct):
    """`device_id` names this browser's device record; `replaces` (the old endpoint) lets the service worker
    update a subscription after `pushsubscriptionchange` without knowing the device id."""

    endpoint: Url
    keys: SubscriptionKeys
    device_id: uuid.UUID | None = None
    replaces: Url | None = None
    expirationTime: float | None = None  # as the browser's toJSON() names it; not used


class QuietHours(msgspec.Struct, forbid_unknown_fields=True):
    start: HHMM
    end: HHMM


class PreferencesIn(msgspec.Struct, forbid_unknown_fields=True):
    """`kinds`: kind → whether it pushes (kinds left out keep their setting); `quiet_hours`: null for none."""

    kinds: dict[str, bool] = msgspec.field(default_factory=dict)
    quiet_hours: QuietHours | msgspec.UnsetType | None = msgspec.UNSET
