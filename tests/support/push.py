"""API steps shared by the push tests and the change-log test (tests/backend/test_audit.py)."""

from __future__ import annotations

from typing import Any

from tests.support.factories import register_device
from tests.support.push_service import fake_browser


async def subscribe_device(me: Any, endpoint: str = "", device_id: str | None = None) -> Any:
    """Register a device (unless given) and put a browser subscription on it; returns the reply."""
    device_id = device_id or await register_device(me)
    body = {**fake_browser(endpoint=endpoint).subscription_json(), "device_id": device_id}
    return await me.request("PUT", "/api/push/subscription", json=body)


async def subscribe_then_unsubscribe(me: Any) -> Any:
    device_id = (await subscribe_device(me)).json()["device_id"]
    return await me.delete(f"/api/push/subscription?device_id={device_id}")


async def subscribe_then_remove_device(me: Any) -> Any:
    device_id = (await subscribe_device(me)).json()["device_id"]
    return await me.delete(f"/api/push/devices/{device_id}")
