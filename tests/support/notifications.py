"""Shared pieces of the push tests: an injected clock, a subscribed device, a worker on the stand-in."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from backend.accounts.tables import Device
from notifications.push.keys import VapidKeys
from notifications.push.sender import RetryPolicy, make_transport
from notifications.push.tables import PushDelivery, PushSubscription
from notifications.push.worker import PushWorker
from tests.support.push_service import Browser


class Clock:
    """Time that moves only when the test says so."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self.now = start or dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now


async def subscribe(user: Any, browser: Browser, label: str = "Android Chrome") -> uuid.UUID:
    """A device record for `user` with `browser`'s push subscription on it (as the API would store it)."""
    device = Device(user=user.id, label=label)
    await Device.insert(device)
    keys = browser.subscription_json()["keys"]
    await PushSubscription.insert(PushSubscription(device=device.id, user=user.id, endpoint=browser.endpoint,
                                                   p256dh=keys["p256dh"], auth=keys["auth"]))
    return device.id


def worker_for(keys: VapidKeys, clock: Clock, **options: Any) -> PushWorker:
    options.setdefault("transport", make_transport("aiohttp", timeout=2.0, connections=8))
    options.setdefault("policy", RetryPolicy())
    return PushWorker(keys, subject="ops@example.com", ttl=3600, clock=clock, **options)


async def deliveries(**where: Any) -> list[dict[str, Any]]:
    query = PushDelivery.select().order_by(PushDelivery.created_at)
    for name, value in where.items():
        query = query.where(getattr(PushDelivery, name) == value)
    return await query
