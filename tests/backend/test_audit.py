"""Every mutating route writes exactly one change-log row per changed record, in the mutation's transaction."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from backend.app import create_litestar
from backend.audit.tables import ChangeLog
from backend.clients.tables import Client
from backend.settings import Settings
from tests.support import lifecycle_audit as lifecycle
from tests.support import push, sync
from tests.support.factories import PASSWORD, Caller, Org, caller, make_org

pytestmark = pytest.mark.anyio

Call = Callable[[Org, Caller, Any], Awaitable[Any]]


def _tomorrow() -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()


async def _version(me: Caller, path: str) -> int:
    return (await me.get(path)).json()["version"]


async def _token(org: Org, me: Caller, api: Any) -> Any:
    made = await me.post("/api/auth/tokens", json={"name": "ci"})
    return await me.delete(f"/api/auth/tokens/{made.json()['id']}")


def _r(org: Org, key: str) -> Any:
    return org.a.records["agent1"][key]


async def _photo(org: Org, me: Caller, api: Any) -> Any:
    from tests.support.photos import small_jpeg, upload

    return await upload(me, ("visit", _r(org, "visit")), small_jpeg())


async def _photo_deleted(org: Org, me: Caller, api: Any) -> Any:
    made = await _photo(org, me, api)
    return await me.delete(f"/api/photos/{made.json()['id']}")


async def _reopened(org: Org, me: Caller, api: Any) -> Any:
    from backend.clients.tables import Opportunity

    await Opportunity.update({Opportunity.state: "won"}).where(Opportunity.id == _r(org, "opportunity").id)
    return await me.post(f"/api/opportunities/{_r(org, 'opportunity').id}/reopen",
                         json={"version": 1, "reason": "客户反悔"})


async def _feedback_triaged(org: Org, me: Caller, api: Any) -> Any:
    made = await me.post("/api/feedback", json={"text": "按钮太小"})
    return await me.post(f"/api/feedback/{made.json()['id']}/triage", json={"version": 1, "status": "accepted"})


# (method, path) → (who acts, the call, change-log rows it must add)
MUTATIONS: dict[tuple[str, str], tuple[str, Call, int]] = {
    ("POST", "/api/clients"): ("a.agent1", lambda o, me, api: me.post("/api/clients", json={"name": "新客户"}), 1),
    ("PATCH", "/api/clients/{record_id:uuid}"): ("a.agent1", lambda o, me, api: me.patch(
        f"/api/clients/{_r(o, 'client').id}", json={"version": 1, "name": "改名"}), 1),
    ("DELETE", "/api/clients/{record_id:uuid}"): ("a.branch_manager", lambda o, me, api: me.delete(
        f"/api/clients/{o.a.records['agent2']['client'].id}"), 0),  # still has children → 409, nothing logged
    ("POST", "/api/clients/{record_id:uuid}/reassign"): ("a.branch_manager", lambda o, me, api: me.post(
        f"/api/clients/{_r(o, 'client').id}/reassign", json={"owner_id": str(o.a.users["agent2"].id), "version": 1}),
        3),  # the client, its open opportunity and its planned visit
    ("POST", "/api/opportunities"): ("a.agent1", lambda o, me, api: me.post(
        "/api/opportunities", json={"client_id": str(_r(o, "client").id), "title": "新商机"}), 1),
    ("PATCH", "/api/opportunities/{record_id:uuid}"): ("a.agent1", lambda o, me, api: me.patch(
        f"/api/opportunities/{_r(o, 'opportunity').id}", json={"version": 1, "value": "2000.50"}), 1),
    ("DELETE", "/api/opportunities/{record_id:uuid}"): ("a.branch_manager", lambda o, me, api: me.delete(
        f"/api/opportunities/{_r(o, 'opportunity').id}"), 1),
    ("POST", "/api/opportunities/{record_id:uuid}/reassign"): ("a.branch_manager", lambda o, me, api: me.post(
        f"/api/opportunities/{_r(o, 'opportunity').id}/reassign",
        json={"owner_id": str(o.a.users["agent2"].id), "version": 1}), 1),
    ("POST", "/api/opportunities/{record_id:uuid}/move"): ("a.agent1", lambda o, me, api: me.post(
        f"/api/opportunities/{_r(o, 'opportunity').id}/move", json={"version": 1, "state": "following"}), 1),
    ("POST", "/api/opportunities/{record_id:uuid}/reopen"): ("a.agent1", _reopened, 1),
    # The project, its line's template (version 1, seeded on first use), its first stage, two milestones and the
    # project's first deadline (known once the stage is entered).
    ("POST", "/api/projects"): ("a.agent1", lambda o, me, api: me.post(
        "/api/projects", json={"title": "新项目", "business_line_id": str(o.line.id)}), 6),
    ("PATCH", "/api/projects/{record_id:uuid}"): ("a.agent1", lambda o, me, api: me.patch(
        f"/api/projects/{_r(o, 'project').id}", json={"version": 1, "contract_value": "120000"}), 1),
    ("DELETE", "/api/projects/{record_id:uuid}"): ("a.branch_manager", lambda o, me, api: me.delete(
        f"/api/projects/{_r(o, 'project').id}"), 0),  # has visits and notes → 409
    ("POST", "/api/projects/{record_id:uuid}/reassign"): ("a.branch_manager", lambda o, me, api: me.post(
        f"/api/projects/{_r(o, 'project').id}/reassign", json={"owner_id": str(o.a.users["agent2"].id), "version": 1}),
        1),
    ("POST", "/api/projects/{record_id:uuid}/members"): ("a.agent1", lambda o, me, api: me.post(
        f"/api/projects/{_r(o, 'project').id}/members", json={"user_id": str(o.a.users["agent2"].id)}), 1),
    ("DELETE", "/api/projects/{record_id:uuid}/members/{user_id:uuid}"): ("a.agent1", lambda o, me, api: me.delete(
        f"/api/projects/{_r(o, 'project').id}/members/{o.a.users['agent1'].id}"), 1),
    ("POST", "/api/visits"): ("a.agent1", lambda o, me, api: me.post("/api/visits", json={
        "client_id": str(_r(o, "client").id), "address": "张江路1号", "scheduled_at": _tomorrow()}), 1),
    ("PATCH", "/api/visits/{record_id:uuid}"): ("a.agent1", lambda o, me, api: me.patch(
        f"/api/visits/{_r(o, 'visit').id}", json={"version": 1, "status": "done"}), 1),
    ("DELETE", "/api/visits/{record_id:uuid}"): ("a.agent1", lambda o, me, api: me.delete(
        f"/api/visits/{_r(o, 'visit').id}"), 0),  # has a note → 409
    ("POST", "/api/visits/{record_id:uuid}/reassign"): ("a.branch_manager", lambda o, me, api: me.post(
        f"/api/visits/{_r(o, 'visit').id}/reassign", json={"owner_id": str(o.a.users["agent2"].id), "version": 1}), 1),
    ("POST", "/api/notes"): ("a.agent1", lambda o, me, api: me.post(
        "/api/notes", json={"body": "带看顺利", "visit_id": str(_r(o, "visit").id)}), 1),
    ("PATCH", "/api/notes/{record_id:uuid}"): ("a.agent1", lambda o, me, api: me.patch(
        f"/api/notes/{_r(o, 'note_visit').id}", json={"version": 1, "body": "改"}), 1),
    ("DELETE", "/api/notes/{record_id:uuid}"): ("a.agent1", lambda o, me, api: me.delete(
        f"/api/notes/{_r(o, 'note_visit').id}"), 1),
    ("POST", "/api/photos"): ("a.agent1", _photo, 1),
    ("DELETE", "/api/photos/{photo_id:uuid}"): ("a.agent1", _photo_deleted, 2),  # upload + delete
    ("POST", "/api/users"): ("admin", lambda o, me, api: me.post("/api/users", json={
        "username": "newbie", "display_name": "新人", "password": "long enough 1", "role": "agent",
        "branch_id": str(o.a.branch.id)}), 1),
    ("PATCH", "/api/users/{record_id:uuid}"): ("admin", lambda o, me, api: me.patch(
        f"/api/users/{o.a.users['project_manager'].id}", json={"version": 1, "is_active": False}), 1),
    ("POST", "/api/users/invite"): ("admin", lambda o, me, api: me.post("/api/users/invite", json={
        "username": "newbie", "display_name": "新人", "role": "agent", "branch_id": str(o.a.branch.id)}), 1),
    ("POST", "/api/users/{user_id:uuid}/password-reset"): ("admin", lambda o, me, api: me.post(
        f"/api/users/{o.a.users['project_manager'].id}/password-reset", json={"version": 1}), 1),
    ("POST", "/api/auth/password"): ("a.agent1", lambda o, me, api: me.post("/api/auth/password", json={
        "current_password": PASSWORD, "new_password": "a fresh one 42"}), 1),
    # agent2's open client, opportunity, project and visit move to agent1 (4), then the account closes (1).
    ("POST", "/api/handover/users/{user_id:uuid}/deactivate"): ("admin", lambda o, me, api: me.post(
        f"/api/handover/users/{o.a.users['agent2'].id}/deactivate", json={"version": 1, "reassign_to": {
            k: str(o.a.users["agent1"].id) for k in ("client", "opportunity", "project", "visit")}}), 5),
    ("POST", "/api/feedback"): ("a.agent1", lambda o, me, api: me.post("/api/feedback", json={"text": "太慢"}), 1),
    ("POST", "/api/feedback/{feedback_id:uuid}/triage"): ("a.branch_manager", _feedback_triaged, 2),  # send + triage
    ("POST", "/api/regions"): ("admin", lambda o, me, api: me.post(
        "/api/regions", json={"code": "s", "name": "华南"}), 1),
    ("PATCH", "/api/regions/{record_id:uuid}"): ("admin", lambda o, me, api: me.patch(
        f"/api/regions/{o.region.id}", json={"version": 1, "name": "华东区"}), 1),
    ("DELETE", "/api/regions/{record_id:uuid}"): ("admin", lambda o, me, api: me.delete(
        f"/api/regions/{o.region.id}"), 0),  # has branches → 409
    ("POST", "/api/branches"): ("admin", lambda o, me, api: me.post("/api/branches", json={
        "code": "C", "name": "新店", "region_id": str(o.region.id), "timezone": "Asia/Shanghai"}), 1),
    ("PATCH", "/api/branches/{record_id:uuid}"): ("admin", lambda o, me, api: me.patch(
        f"/api/branches/{o.a.branch.id}", json={"version": 1, "timezone": "Asia/Hong_Kong"}), 1),
    ("DELETE", "/api/branches/{record_id:uuid}"): ("admin", lambda o, me, api: me.delete(
        f"/api/branches/{o.a.branch.id}"), 0),
    ("POST", "/api/business-lines"): ("admin", lambda o, me, api: me.post("/api/business-lines", json={
        "key": "legal_case", "name_zh": "法律案件", "name_en": "Legal case"}), 1),
    ("PATCH", "/api/business-lines/{record_id:uuid}"): ("admin", lambda o, me, api: me.patch(
        f"/api/business-lines/{o.line.id}", json={"version": 1, "active": False}), 1),
    ("DELETE", "/api/business-lines/{record_id:uuid}"): ("admin", lambda o, me, api: me.delete(
        f"/api/business-lines/{o.line.id}"), 0),
    ("POST", "/api/auth/login"): ("a.agent1", lambda o, me, api: api.post(
        "/api/auth/login", json={"username": o.a.users["agent1"].username, "password": PASSWORD}), 1),
    ("POST", "/api/auth/logout"): ("a.agent1", lambda o, me, api: me.post("/api/auth/logout"), 1),
    ("POST", "/api/auth/tokens"): ("a.agent1", lambda o, me, api: me.post("/api/auth/tokens", json={"name": "x"}), 1),
    ("DELETE", "/api/auth/tokens/{token_id:uuid}"): ("a.agent1", _token, 2),  # create + revoke
    ("PUT", "/api/auth/devices/{device_id:uuid}"): ("a.agent1", lambda o, me, api: me.request(
        "PUT", f"/api/auth/devices/{uuid.uuid4()}", json={"label": "Android Chrome"}), 1),
    # Push: registering the device is a change of its own (1), then the subscription's create/delete.
    ("PUT", "/api/push/subscription"): ("a.agent1", lambda o, me, api: push.subscribe_device(me), 2),
    ("DELETE", "/api/push/subscription"): ("a.agent1", lambda o, me, api: push.subscribe_then_unsubscribe(me), 3),
    ("DELETE", "/api/push/devices/{device_id:uuid}"): ("a.agent1", lambda o, me, api:
                                                      push.subscribe_then_remove_device(me), 3),
    ("PUT", "/api/push/preferences"): ("a.branch_manager", lambda o, me, api: me.request(
        "PUT", "/api/push/preferences", json={"kinds": {"reminder": False}, "quiet_hours": {"start": "22:00",
                                                                                           "end": "07:00"}}), 1),
    # Registering the device is a change of its own (1), then the one note of the batch (1).
    ("POST", "/api/sync/push"): ("a.agent1", lambda o, me, api: sync.push_one_note(o, me), 2),
    ("POST", "/api/sync/pull"): ("a.agent1", lambda o, me, api: sync.pull_once(me), 1),
    **lifecycle.MUTATIONS,
}
NOT_MUTATING = {("POST", "/login")}  # the HTML form posts to the same service as /api/auth/login


def test_every_mutating_route_is_listed() -> None:
    app = create_litestar(Settings(env="test"), run_migrations=False, engine=object())
    mutating = {(m, r.path) for r in app.routes for m in getattr(r, "methods", set()) if m in {"POST", "PATCH", "PUT",
                                                                                              "DELETE"}}
    assert mutating - NOT_MUTATING == set(MUTATIONS), sorted(mutating ^ set(MUTATIONS))


@pytest.mark.parametrize("route", sorted(MUTATIONS), ids=lambda r: f"{r[0]} {r[1]}")
async def test_mutation_writes_one_change_per_record(api, route: tuple[str, str]) -> None:
    org = await make_org()
    who, call, expected = MUTATIONS[route]
    me = await caller(api, org.all_users()[who])
    before = await ChangeLog.count()
    reply = await call(org, me, api)
    assert reply.status_code < 300 or (expected == 0 and reply.status_code == 409), reply.text
    assert await ChangeLog.count() - before == expected
    if expected:
        last = await ChangeLog.select().order_by(ChangeLog.seq, ascending=False).first()
        assert last["actor_id"] == org.all_users()[who].id
        assert last["changes"] is not None


async def test_change_log_holds_changed_fields_and_scope_keys(api) -> None:
    org = await make_org()
    me = await caller(api, org.a.users["agent1"])
    client = org.a.records["agent1"]["client"]
    await me.patch(f"/api/clients/{client.id}", json={"version": 1, "name": "新名字", "phone": "13800000000"})
    row = await ChangeLog.select().order_by(ChangeLog.seq, ascending=False).first()
    changes = row["changes"] if isinstance(row["changes"], dict) else __import__("json").loads(row["changes"])
    assert changes == {"before": {"name": client.name}, "after": {"name": "新名字"}}  # phone did not change
    assert (row["action"], row["table_name"], row["row_id"]) == ("update", "clients", str(client.id))
    assert (row["branch_id"], row["owner_id"]) == (org.a.branch.id, org.a.users["agent1"].id)
    seqs = [r["seq"] for r in await ChangeLog.select(ChangeLog.seq).order_by(ChangeLog.seq)]
    assert seqs == sorted(set(seqs))


async def test_failed_log_write_rolls_back_the_mutation(api, monkeypatch) -> None:
    org = await make_org()
    me = await caller(api, org.a.users["agent1"])

    async def broken(**_: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr("backend.records.record_change", broken)
    clients_before, log_before = await Client.count(), await ChangeLog.count()
    reply = await me.post("/api/clients", json={"name": "不该存在"})
    assert reply.status_code == 500 and reply.json()["error"] == "internal_error"
    assert (await Client.count(), await ChangeLog.count()) == (clients_before, log_before)
    assert not await Client.exists().where(Client.name == "不该存在")


async def test_rejected_write_leaves_neither_row_nor_log(api) -> None:
    org = await make_org()
    me = await caller(api, org.a.users["agent1"])
    log_before = await ChangeLog.count()
    stale = await me.patch(f"/api/clients/{org.a.records['agent1']['client'].id}", json={"version": 9, "name": "x"})
    assert stale.status_code == 409 and stale.json()["current"]["version"] == 1
    other_owner = await me.post("/api/clients", json={"name": "抢客户", "owner_id": str(org.a.users["agent2"].id)})
    assert other_owner.status_code == 422 and other_owner.json()["field"] == "owner_id"
    assert await ChangeLog.count() == log_before
    assert not await Client.exists().where(Client.name == "抢客户")


async def test_audit_read_api_filters_and_scope(api) -> None:
    org = await make_org()
    agent = await caller(api, org.a.users["agent1"])
    client = org.a.records["agent1"]["client"]
    await agent.patch(f"/api/clients/{client.id}", json={"version": 1, "name": "甲"})
    b_agent = await caller(api, org.b.users["agent1"])
    await b_agent.patch(f"/api/clients/{org.b.records['agent1']['client'].id}", json={"version": 1, "name": "乙"})
    manager = await caller(api, org.a.users["branch_manager"])
    mine = (await manager.get("/api/audit", params={"table": "clients"})).json()["items"]
    assert [r["row_id"] for r in mine] == [str(client.id)]  # branch B's change is out of scope
    by_actor = (await manager.get("/api/audit", params={"actor_id": str(org.a.users["agent1"].id)})).json()["items"]
    assert {r["action"] for r in by_actor} == {"update"}
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    assert (await manager.get("/api/audit", params={"since": future})).json()["items"] == []
    executive = await caller(api, org.executive)
    rows = (await executive.get("/api/audit", params={"table": "clients"})).json()["items"]
    assert {r["row_id"] for r in rows} == {str(client.id), str(org.b.records["agent1"]["client"].id)}
