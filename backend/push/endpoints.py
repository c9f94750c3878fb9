import uuid
from typing import Any

from litestar import Request, Router, delete, get, put
from litestar.params import JSONBody

from backend.crud import record_opt
from backend.push import services
from backend.push.schemas import (
    DeliveryCountsOut,
    PreferencesIn,
    PreferencesOut,
    PushDeviceOut,
    PushKeyOut,
    SubscriptionIn,
    SubscriptionOut,
)
from backend.web import settings_of


@get("/key", operation_id="push_public_key", summary="The VAPID public key (the browser's applicationServerKey)")
async def public_key(request: Request[Any, Any, Any]) -> PushKeyOut:
    return PushKeyOut(public_key=services.vapid_keys(settings_of(request)).application_server_key)


@put("/subscription", operation_id="register_push_subscription", status_code=200,
     summary="Register this browser's push subscription on your device record")
async def register_subscription(request: Request[Any, Any, Any], data: JSONBody[SubscriptionIn]) -> SubscriptionOut:
    return await services.register_subscription(request.user, data, settings_of(request))


@delete("/subscription", operation_id="remove_push_subscription", summary="Stop pushes to this device")
async def remove_subscription(request: Request[Any, Any, Any], device_id: uuid.UUID) -> None:
    await services.remove_subscription(request.user, device_id)


@get("/devices", operation_id="list_push_devices", summary="Your devices and whether each receives pushes")
async def list_devices(request: Request[Any, Any, Any]) -> list[PushDeviceOut]:
    return await services.list_devices(request.user)


@delete("/devices/{device_id:uuid}", opt=record_opt("device", "device_id"),
        operation_id="remove_push_device", summary="Stop pushes to one of your devices")
async def remove_device(request: Request[Any, Any, Any], device_id: uuid.UUID) -> None:
    await services.remove_subscription(request.user, device_id)


@get("/preferences", operation_id="get_push_preferences", summary="Which kinds push to you, and your quiet hours")
async def get_preferences(request: Request[Any, Any, Any]) -> PreferencesOut:
    return await services.get_preferences(request.user)


@put("/preferences", operation_id="set_push_preferences", status_code=200,
     summary="Choose which kinds push (escalations stay on for managers) and quiet hours")
async def set_preferences(request: Request[Any, Any, Any], data: JSONBody[PreferencesIn]) -> PreferencesOut:
    return await services.update_preferences(request.user, data)


@get("/deliveries", operation_id="push_delivery_counts", summary="Push deliveries by status (administrators)")
async def delivery_counts(request: Request[Any, Any, Any]) -> DeliveryCountsOut:
    return await services.delivery_counts(request.user)


push_router = Router(path="/api/push", route_handlers=[
    public_key, register_subscription, remove_subscription, list_devices, remove_device, get_preferences,
    set_preferences, delivery_counts,
], tags=["push"])
