"""Request bodies of the push API (a browser's `PushSubscription.toJSON()` plus the device it belongs to) and its
replies."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec

from backend.schemas import NO_NUL

Url = Annotated[str, msgspec.Meta(min_length=8, max_length=2048, pattern=NO_NUL)]
HHMM = Annotated[str, msgspec.Meta(max_length=5, pattern=r"^\d{2}:\d{2}$")]
Kind = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=NO_NUL)]
MAX_KINDS = 50


class SubscriptionKeys(msgspec.Struct):
    p256dh: Annotated[str, msgspec.Meta(min_length=80, max_length=100, pattern=NO_NUL)]
    auth: Annotated[str, msgspec.Meta(min_length=16, max_length=50, pattern=NO_NUL)]


class SubscriptionIn(msgspec.Struct):
    """`device_id` names this browser's device record; `replaces` (the old endpoint) lets the service worker
    update a subscription after `pushsubscriptionchange` without knowing the device id."""

    endpoint: Url
    keys: SubscriptionKeys
    device_id: uuid.UUID | None = None
    replaces: Url | None = None
    # as the browser's toJSON() names it (milliseconds since 1970); not used
    expirationTime: Annotated[float, msgspec.Meta(ge=0, le=2**53)] | None = None


class QuietHours(msgspec.Struct, forbid_unknown_fields=True):
    start: HHMM
    end: HHMM


class PreferencesIn(msgspec.Struct, forbid_unknown_fields=True):
    """`kinds`: kind → whether it pushes (kinds left out keep their setting); `quiet_hours`: null for none."""

    kinds: Annotated[dict[Kind, bool], msgspec.Meta(max_length=MAX_KINDS)] = msgspec.field(default_factory=dict)
    quiet_hours: QuietHours | msgspec.UnsetType | None = msgspec.UNSET


class PushKeyOut(msgspec.Struct, kw_only=True):
    public_key: str


class SubscriptionOut(msgspec.Struct, kw_only=True):
    device_id: uuid.UUID
    subscribed: bool
    push_service: str


class PushDeviceOut(msgspec.Struct, kw_only=True):
    """One of the caller's devices; `push_service` is the host its subscription points at (never the keys)."""

    id: uuid.UUID
    label: str
    created_at: dt.datetime
    last_seen_at: dt.datetime
    subscribed: bool
    push_service: str | None
    subscribed_at: dt.datetime | None


class PreferencesOut(msgspec.Struct, kw_only=True):
    """`kinds`: every kind → whether it pushes; `locked`: kinds the role cannot switch off."""

    kinds: dict[str, bool]
    locked: list[str]
    quiet_hours: QuietHours | None
    timezone: str


class DeliveryCountsOut(msgspec.Struct, kw_only=True):
    """Deliveries by status (every status present) and the number of subscribed devices."""

    counts: dict[str, int]
    subscriptions: int
