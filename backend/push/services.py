"""Push in the app: VAPID keys, browser subscriptions on the caller's device records, preferences, delivery counts.

Every change writes its change-log row in the same transaction; which devices a user may touch is a rule of
`backend/access.py` (resource "device"). Delivery itself lives in the `notifications.push` library.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import logging
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec
from piccolo.query.functions.aggregate import Count

from backend import access, alerts, db, records
from backend.access import Actor
from backend.accounts.tables import Branch, Device, User
from backend.audit.services import record_change
from backend.errors import Forbidden, Invalid, NotFound
from backend.push.schemas import (
    DeliveryCountsOut,
    PreferencesIn,
    PreferencesOut,
    PushDeviceOut,
    QuietHours,
    SubscriptionIn,
    SubscriptionOut,
)
from backend.settings import Settings, SettingsError
from notifications import notify
from notifications.push.keys import VapidKeys, b64url_decode, load_or_create_keys, parse_public_key
from notifications.push.preferences import KINDS, format_hhmm, locked_on, parse_hhmm
from notifications.push.tables import DELIVERY_STATES, PushDelivery, PushPreference, PushSubscription
from notifications.push.worker import PushWorker

log = logging.getLogger("ipms.push")


@functools.cache
def _keys(data_dir: Path, private: str, public: str) -> VapidKeys:
    try:
        return load_or_create_keys(data_dir, private, public)
    except ValueError as exc:
        raise SettingsError(f"VAPID keys: {exc}") from None


def vapid_keys(settings: Settings) -> VapidKeys:
    """The app's VAPID keys: from settings, or made once in the data directory (cached per process)."""
    return _keys(settings.data_dir.resolve(), settings.vapid_private_key, settings.vapid_public_key)


def make_worker(settings: Settings, **options: Any) -> PushWorker:
    if not settings.vapid_subject and not settings.is_development:
        log.warning("IPMS_VAPID_SUBJECT is not set: push services see no contact address, and Apple's refuses "
                    "pushes without a real one")
    return PushWorker(vapid_keys(settings), subject=settings.vapid_subject, ttl=settings.push_ttl, **options)


def push_service(endpoint: str) -> str:
    """The push service's host (what settings show, and the change log records instead of the endpoint)."""
    return urlsplit(endpoint).hostname or ""


def _fingerprint(endpoint: str) -> str:
    return hashlib.sha256(endpoint.encode()).hexdigest()[:16]


def check_endpoint(endpoint: str, settings: Settings) -> str:
    """An https URL of a public host; plain http (and local hosts) only in development, for local stand-ins.

    The server POSTs to this URL, so in production it may not point into the server's own network."""
    parts = urlsplit(endpoint)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise Invalid("The push endpoint must be an https:// URL", field="endpoint")
    if settings.is_development:
        return endpoint
    if parts.scheme != "https":
        raise Invalid("The push endpoint must be an https:// URL", field="endpoint")
    host = parts.hostname
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if host == "localhost" or host.endswith(".localhost") or (address is not None and not address.is_global):
        raise Invalid("The push endpoint must be on a public push service", field="endpoint")
    return endpoint


def check_keys(p256dh: str, auth: str) -> None:
    try:
        parse_public_key(p256dh)
    except ValueError:
        raise Invalid("keys.p256dh is not the browser's P-256 public key", field="keys.p256dh") from None
    try:
        ok = len(b64url_decode(auth)) == 16
    except ValueError:
        ok = False
    if not ok:
        raise Invalid("keys.auth is not a 16-byte base64url secret", field="keys.auth")


def _logged(row: dict[str, Any]) -> dict[str, Any]:
    """What the change log keeps of a subscription: never the keys, only where it points."""
    return {"device": row["device"], "push_service": push_service(row["endpoint"]),
            "endpoint_sha256": _fingerprint(row["endpoint"])}


async def _delete_subscriptions(actor: Actor, where: Any) -> int:
    removed = await PushSubscription.delete().where(where).returning(
        PushSubscription.id, PushSubscription.device, PushSubscription.user, PushSubscription.endpoint)
    for row in removed:
        owner = await User.select(User.branch).where(User.id == row["user"]).first()
        await record_change(actor_id=actor.id, action="delete", table="push_subscriptions", row_id=row["id"],
                            before=_logged(row), branch_id=owner["branch"] if owner else None, owner_id=row["user"])
    return len(removed)


async def forget_user_subscriptions(actor: Actor, user_id: uuid.UUID) -> int:
    """Inside the caller's transaction: a deactivated user's devices stop receiving pushes (one log row each)."""
    return await _delete_subscriptions(actor, PushSubscription.user == user_id)


async def register_subscription(actor: Actor, data: SubscriptionIn, settings: Settings) -> SubscriptionOut:
    """Store the browser's subscription on the caller's device record (one per device; one row per endpoint:
    a browser registered under another device record or user moves here)."""
    endpoint = check_endpoint(data.endpoint, settings)
    check_keys(data.keys.p256dh, data.keys.auth)
    async with db.write_transaction():
        device_id = data.device_id
        if device_id is None:
            if not data.replaces:
                raise Invalid("Name the device (device_id) this subscription belongs to", field="device_id")
            old = await access.scope(PushSubscription.select(PushSubscription.device).where(
                PushSubscription.endpoint == data.replaces), actor, "push_subscription").first()
            if old is None:
                raise NotFound("None of your subscriptions has that endpoint", field="replaces")
            device_id = old["device"]
        await access.authorize(actor, "update", "device", device_id)
        await _delete_subscriptions(actor, (PushSubscription.endpoint == endpoint)
                                    & (PushSubscription.device != device_id))
        values = {"endpoint": endpoint, "p256dh": data.keys.p256dh, "auth": data.keys.auth}
        current = await PushSubscription.select().where(PushSubscription.device == device_id).first()
        after = {"device": device_id, **values}
        if current is None:
            row = PushSubscription(device=device_id, user=actor.id, endpoint=endpoint, p256dh=data.keys.p256dh,
                                   auth=data.keys.auth)
            await PushSubscription.insert(row)
            await record_change(actor_id=actor.id, action="create", table="push_subscriptions", row_id=row.id,
                                after=_logged(after), branch_id=actor.branch_id, owner_id=actor.id)
        elif any(current[k] != v for k, v in values.items()):
            await PushSubscription.update({
                PushSubscription.endpoint: endpoint, PushSubscription.p256dh: data.keys.p256dh,
                PushSubscription.auth: data.keys.auth, PushSubscription.updated_at: records.now(),
            }).where(
                PushSubscription.id == current["id"])
            await record_change(actor_id=actor.id, action="update", table="push_subscriptions",
                                row_id=current["id"], before=_logged(current), after=_logged(after),
                                branch_id=actor.branch_id, owner_id=actor.id)
    return SubscriptionOut(device_id=device_id, subscribed=True, push_service=push_service(endpoint))


async def remove_subscription(actor: Actor, device_id: uuid.UUID) -> None:
    """Stop pushing to one of the caller's devices (this browser, or another one listed in settings)."""
    async with db.write_transaction():
        await access.authorize(actor, "update", "device", device_id)
        if not await _delete_subscriptions(actor, PushSubscription.device == device_id):
            raise NotFound("This device has no push subscription", field="device_id")


async def forget_device_on_sign_out(actor: Actor, device_id: uuid.UUID) -> None:
    """Inside sign-out's transaction: the device signing out gets no more pushes for this user."""
    if await access.scope(Device.exists().where(Device.id == device_id), actor, "device"):
        await _delete_subscriptions(actor, PushSubscription.device == device_id)


async def list_devices(actor: Actor) -> list[PushDeviceOut]:
    devices = await access.scope(
        Device.select(Device.id, Device.label, Device.created_at, Device.last_seen_at), actor, "device"
    ).order_by(Device.last_seen_at, ascending=False)
    subscriptions = {}
    if devices:
        subscriptions = {s["device"]: s for s in await PushSubscription.select(
            PushSubscription.device, PushSubscription.endpoint, PushSubscription.updated_at).where(
            PushSubscription.device.is_in([d["id"] for d in devices]))}
    return [PushDeviceOut(**device, subscribed=device["id"] in subscriptions,
                          push_service=push_service(subscriptions[device["id"]]["endpoint"])
                          if device["id"] in subscriptions else None,
                          subscribed_at=subscriptions[device["id"]]["updated_at"] if device["id"] in subscriptions
                          else None)
            for device in devices]


async def get_preferences(actor: Actor) -> PreferencesOut:
    row = await access.scope(PushPreference.select(), actor, "push_preference").first()
    branch = await Branch.select(Branch.timezone).where(Branch.id == actor.branch_id).first()
    locked = locked_on(actor.role)
    muted = set(row["muted_kinds"] or ()) if row else set()
    start, end = (format_hhmm(row["quiet_start"]), format_hhmm(row["quiet_end"])) if row else (None, None)
    quiet = QuietHours(start=start, end=end) if start is not None and end is not None else None
    return PreferencesOut(kinds={kind: kind in locked or kind not in muted for kind in KINDS}, locked=sorted(locked),
                          quiet_hours=quiet, timezone=branch["timezone"] if branch else "UTC")


def _quiet_hours(data: PreferencesIn) -> tuple[int | None, int | None]:
    if data.quiet_hours is None:
        return None, None
    assert not isinstance(data.quiet_hours, msgspec.UnsetType)
    try:
        start = parse_hhmm(data.quiet_hours.start)
    except ValueError as exc:
        raise Invalid(str(exc), field="quiet_hours.start") from None
    try:
        end = parse_hhmm(data.quiet_hours.end)
    except ValueError as exc:
        raise Invalid(str(exc), field="quiet_hours.end") from None
    if start == end:
        raise Invalid("Quiet hours must end at another time than they start", field="quiet_hours.end")
    return start, end


async def update_preferences(actor: Actor, data: PreferencesIn) -> PreferencesOut:
    """Which kinds push and the quiet hours; managers cannot switch escalations off."""
    locked = locked_on(actor.role)
    for kind, on in data.kinds.items():
        if kind not in KINDS:
            raise Invalid(f"Unknown kind {kind!r}; known: {', '.join(KINDS)}", field=f"kinds.{kind}")
        if not on and kind in locked:
            raise Invalid("Managers always receive escalation pushes", field=f"kinds.{kind}")
    async with db.write_transaction():
        row = await access.scope(PushPreference.select(), actor, "push_preference", "write").first()
        muted = set(row["muted_kinds"] or ()) if row else set()
        muted = (muted | {k for k, on in data.kinds.items() if not on}) - {k for k, on in data.kinds.items() if on}
        before = {"muted_kinds": sorted(row["muted_kinds"] or ()) if row else [],
                  "quiet_start": row["quiet_start"] if row else None, "quiet_end": row["quiet_end"] if row else None}
        start, end = (before["quiet_start"], before["quiet_end"]) if isinstance(
            data.quiet_hours, msgspec.UnsetType) else _quiet_hours(data)
        after = {"muted_kinds": sorted(muted), "quiet_start": start, "quiet_end": end}
        if row is None:
            made = PushPreference(user=actor.id, muted_kinds=after["muted_kinds"], quiet_start=start, quiet_end=end)
            await PushPreference.insert(made)
            await record_change(actor_id=actor.id, action="create", table="push_preferences", row_id=made.id,
                                after=after, branch_id=actor.branch_id, owner_id=actor.id)
        elif after != before:
            await PushPreference.update({PushPreference.muted_kinds: after["muted_kinds"],
                                         PushPreference.quiet_start: start, PushPreference.quiet_end: end,
                                         PushPreference.updated_at: records.now(),
                                         PushPreference.version: PushPreference.version + 1}).where(
                PushPreference.id == row["id"])
            await record_change(actor_id=actor.id, action="update", table="push_preferences", row_id=row["id"],
                                before=before, after=after, branch_id=actor.branch_id, owner_id=actor.id)
    return await get_preferences(actor)


async def delivery_counts(actor: Actor) -> DeliveryCountsOut:
    """Deliveries by status and the number of subscribed devices (administrators only)."""
    if not access.can(actor, "list", "push_delivery"):
        raise Forbidden("Only administrators see push delivery counts")
    rows = await access.scope(PushDelivery.select(PushDelivery.status, Count(alias="count")), actor,
                              "push_delivery").group_by(PushDelivery.status)
    counts = {state: 0 for state in DELIVERY_STATES} | {r["status"]: r["count"] for r in rows}
    return DeliveryCountsOut(counts=counts, subscriptions=await PushSubscription.count())


async def send_test_push(username: str, settings: Settings, worker: PushWorker | None = None) -> list[dict[str, Any]]:
    """`ipms push test --user NAME`: a test alert to each of the user's subscribed devices, sent now; returns
    each delivery's outcome (empty when the user has no subscribed device)."""
    user = await User.select(User.id, User.language).where(User.username == username.strip().lower()).first()
    if user is None:
        raise NotFound(f"No user {username!r}", field="user")
    notice = alerts.notice("test", user_id=user["id"], lang=user["language"] or settings.default_language)
    async with db.write_transaction():
        [item_id] = await notify([notice])
    mine = PushDelivery.inbox_item == item_id
    if not await PushDelivery.exists().where(mine):
        return []
    own = worker is None
    worker = worker or make_worker(settings, lanes=1)
    try:
        for _ in range(100):
            if not await PushDelivery.exists().where(mine & (PushDelivery.status == "pending")) or not (
                    await worker.run_once()):
                break
    finally:
        if own:
            await worker.stop()
    return await PushDelivery.select(
        PushDelivery.status, PushDelivery.attempts, PushDelivery.last_error, PushDelivery.next_attempt_at,
        PushDelivery.subscription.device.label.as_alias("device"),  # type: ignore[union-attr]
    ).where(mine)
