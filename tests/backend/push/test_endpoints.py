"""The push API: public key, subscriptions on the caller's devices, device list, preferences, counts, sign-out."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from backend.audit.tables import ChangeLog
from backend.errors import Invalid
from backend.push import services
from backend.push.schemas import SubscriptionIn, SubscriptionKeys
from notifications.push.keys import KEY_FILE, b64url_decode
from notifications.push.tables import PushPreference, PushSubscription
from tests.support.factories import actor, caller, make_org, register_device
from tests.support.push import subscribe_device
from tests.support.push_service import fake_browser

pytestmark = pytest.mark.anyio


async def test_push_key_is_the_data_dir_key_and_stable(api, database):
    org = await make_org()
    me = await caller(api, org.a.users["agent1"])
    first = (await me.get("/api/push/key")).json()["public_key"]
    assert len(b64url_decode(first)) == 65 and (database.data_dir / KEY_FILE).exists()
    assert (await me.get("/api/push/key")).json()["public_key"] == first
    assert (await api.get("/api/push/key")).status_code == 401


async def test_push_subscription_registered_on_own_device_and_listed(api):
    org = await make_org()
    me = await caller(api, org.a.users["agent1"])
    device_id = await register_device(me, "iPhone Safari")
    reply = await subscribe_device(me, "https://web.push.apple.com/QGx1", device_id)
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"device_id": device_id, "subscribed": True, "push_service": "web.push.apple.com"}
    other = await register_device(me, "Linux Firefox")
    listed = {d["id"]: d for d in (await me.get("/api/push/devices")).json()}
    assert listed[device_id]["subscribed"] and listed[device_id]["label"] == "iPhone Safari"
    assert listed[device_id]["push_service"] == "web.push.apple.com"
    assert not listed[other]["subscribed"] and listed[other]["push_service"] is None
    stranger = await caller(api, org.a.users["agent2"])
    assert (await stranger.get("/api/push/devices")).json() == []
    assert (await subscribe_device(stranger, device_id=device_id)).status_code == 404
    assert (await stranger.delete(f"/api/push/devices/{device_id}")).status_code == 404
    assert (await me.delete(f"/api/push/devices/{device_id}")).status_code == 204
    assert (await me.delete(f"/api/push/devices/{device_id}")).status_code == 404
    assert await PushSubscription.count() == 0


async def test_push_same_browser_moves_to_the_new_device_record(api):
    org = await make_org()
    agent, manager = await caller(api, org.a.users["agent1"]), await caller(api, org.a.users["branch_manager"])
    endpoint = "https://fcm.googleapis.com/fcm/send/shared-tablet"
    await subscribe_device(agent, endpoint)
    moved = await subscribe_device(manager, endpoint)
    assert moved.status_code == 200
    rows = await PushSubscription.select(PushSubscription.user)
    assert rows == [{"user": org.a.users["branch_manager"].id}], "one browser pushes for the user who has it now"
    again = await subscribe_device(manager, endpoint, moved.json()["device_id"])
    assert again.status_code == 200 and await PushSubscription.count() == 1


async def test_push_subscription_change_found_by_old_endpoint(api):
    org = await make_org()
    me = await caller(api, org.a.users["agent1"])
    old = "https://fcm.googleapis.com/fcm/send/old"
    device_id = (await subscribe_device(me, old)).json()["device_id"]
    new = fake_browser(endpoint="https://fcm.googleapis.com/fcm/send/new").subscription_json()
    reply = await me.request("PUT", "/api/push/subscription", json={**new, "replaces": old, "expirationTime": None})
    assert reply.status_code == 200 and reply.json()["device_id"] == device_id
    [row] = await PushSubscription.select(PushSubscription.endpoint, PushSubscription.p256dh)
    assert row == {"endpoint": new["endpoint"], "p256dh": new["keys"]["p256dh"]}
    lost = await me.request("PUT", "/api/push/subscription", json={**new, "replaces": "https://x.example/gone"})
    assert lost.status_code == 404 and lost.json()["field"] == "replaces"
    neither = await me.request("PUT", "/api/push/subscription", json=new)
    assert neither.status_code == 422 and neither.json()["field"] == "device_id"


@pytest.mark.parametrize(("change", "field"), [
    ({"keys": {"p256dh": "B" + "A" * 86, "auth": "c2VjcmV0c2VjcmV0c2VjcmV0"}}, "keys.p256dh"),
    ({"keys": {"p256dh": None, "auth": "dG9vc2hvcnQxMjM0NQ"}}, "keys.auth"),
    ({"endpoint": "ftp://push.example.com/x"}, "endpoint"),
])
async def test_push_subscription_bad_input_names_the_field(api, change, field):
    org = await make_org()
    me = await caller(api, org.a.users["agent1"])
    body = {**fake_browser().subscription_json(), "device_id": await register_device(me)}
    for key, value in change.items():
        body[key] = {k: v or body["keys"][k] for k, v in value.items()} if key == "keys" else value
    reply = await me.request("PUT", "/api/push/subscription", json=body)
    assert reply.status_code == 422 and reply.json()["field"] == field, reply.text


async def test_push_endpoint_must_be_public_https_in_production(database):
    org = await make_org()
    production = dataclasses.replace(database, env="production", secret_key="x" * 40)
    me = actor(org.a.users["agent1"])
    for endpoint in ("http://push.example.com/x", "https://127.0.0.1:8443/x", "https://10.1.2.3/x",
                     "https://localhost/x"):
        with pytest.raises(Invalid) as caught:
            services.check_endpoint(endpoint, production)
        assert caught.value.field == "endpoint", endpoint
    assert services.check_endpoint("https://fcm.googleapis.com/fcm/send/x", production)
    assert services.check_endpoint("http://127.0.0.1:9/x", database)  # development and tests: local stand-ins
    keys = fake_browser().subscription_json()["keys"]
    with pytest.raises(Invalid):
        await services.register_subscription(me, SubscriptionIn(endpoint="http://127.0.0.1:9/x", keys=SubscriptionKeys(
            **keys), device_id=uuid.uuid4()), production)


async def test_push_preferences_defaults_changes_and_manager_escalations(api):
    org = await make_org()
    manager = await caller(api, org.a.users["branch_manager"])
    got = (await manager.get("/api/push/preferences")).json()
    assert got["locked"] == ["escalation"] and all(got["kinds"].values()) and got["quiet_hours"] is None
    assert got["timezone"] == "Asia/Shanghai"
    refused = await manager.request("PUT", "/api/push/preferences", json={"kinds": {"escalation": False}})
    assert refused.status_code == 422 and refused.json()["field"] == "kinds.escalation"
    changed = await manager.request("PUT", "/api/push/preferences", json={
        "kinds": {"reminder": False}, "quiet_hours": {"start": "22:30", "end": "07:00"}})
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["kinds"]["reminder"] is False and body["kinds"]["escalation"] is True
    assert body["quiet_hours"] == {"start": "22:30", "end": "07:00"}
    kept = (await manager.request("PUT", "/api/push/preferences", json={"kinds": {"nudge": False}})).json()
    assert kept["quiet_hours"] == {"start": "22:30", "end": "07:00"} and not kept["kinds"]["reminder"]
    cleared = (await manager.request("PUT", "/api/push/preferences", json={"quiet_hours": None})).json()
    assert cleared["quiet_hours"] is None
    [row] = await PushPreference.select()
    assert sorted(row["muted_kinds"]) == ["nudge", "reminder"] and row["version"] == 3
    agent = await caller(api, org.a.users["agent1"])
    assert (await agent.request("PUT", "/api/push/preferences", json={"kinds": {"escalation": False}})).json()[
        "kinds"]["escalation"] is False
    for body, field in (({"kinds": {"weather": True}}, "kinds.weather"),
                        ({"quiet_hours": {"start": "25:00", "end": "07:00"}}, "quiet_hours.start"),
                        ({"quiet_hours": {"start": "07:00", "end": "07:00"}}, "quiet_hours.end")):
        reply = await agent.request("PUT", "/api/push/preferences", json=body)
        assert reply.status_code == 422 and reply.json()["field"] == field, reply.text


async def test_push_delivery_counts_for_admins_only(api):
    org = await make_org()
    users = org.all_users()
    for who in ("a.agent1", "a.branch_manager", "executive"):
        reply = await (await caller(api, users[who])).get("/api/push/deliveries")
        assert reply.status_code == 403, who
    admin = await caller(api, users["admin"])
    reply = await admin.get("/api/push/deliveries")
    assert reply.json() == {"counts": {"pending": 0, "sent": 0, "failed": 0, "gone": 0}, "subscriptions": 0}


async def test_sign_out_with_device_header_removes_its_push_subscription(api):
    org = await make_org()
    me = await caller(api, org.a.users["agent1"])
    kept = (await subscribe_device(me)).json()["device_id"]
    device_id = (await subscribe_device(me)).json()["device_id"]
    before = await ChangeLog.count()
    reply = await me.post("/api/auth/logout", headers={"x-device-id": device_id})
    assert reply.status_code == 200
    assert await ChangeLog.count() - before == 2, "the session and the subscription"
    assert [str(r["device"]) for r in await PushSubscription.select(PushSubscription.device)] == [kept]
    other = await caller(api, org.a.users["agent2"])
    assert (await other.post("/api/auth/logout", headers={"x-device-id": kept})).status_code == 200
    assert await PushSubscription.count() == 1, "another user's sign-out cannot remove my device's subscription"
    again = await caller(api, org.a.users["agent1"])
    assert (await again.post("/api/auth/logout", headers={"x-device-id": "not-a-uuid"})).status_code == 200
