"""Accounts services (issue 10, "Tokens and privileged roles"): tokens revoked on a password reset, deactivation or
role change; tokens expire; no token material in the change log; privileged grants announced to the executives;
device ids that are taken answer one 409 whoever holds them; password hashing off the event loop."""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from typing import Any

import pytest

from backend.accounts import passwords
from backend.accounts.services import actor_for_api_token, create_api_token, create_user, sign_in
from backend.accounts.tables import ApiToken, Session
from backend.audit.tables import ChangeLog
from backend.settings import Settings
from notifications.tables import InboxItem
from tests.support.accounts import PEER, login, session_cookie
from tests.support.factories import PASSWORD, Caller, Org, actor, caller, make_org, make_user, open_session

pytestmark = pytest.mark.anyio


async def _token(me: Caller, **body: Any) -> dict[str, Any]:
    reply = await me.post("/api/auth/tokens", json={"name": "crm", **body})
    assert reply.status_code == 201, reply.text
    return reply.json()


async def _works(api: Any, secret: str) -> bool:
    reply = await api.get("/api/auth/me", headers={"authorization": f"Bearer {secret}"})
    assert reply.status_code in (200, 401), reply.text
    return reply.status_code == 200


async def _patch_user(admin: Caller, user: Any, **changes: Any) -> Any:
    version = (await admin.get(f"/api/users/{user.id}")).json()["version"]
    reply = await admin.patch(f"/api/users/{user.id}", json={"version": version, **changes})
    assert reply.status_code == 200, reply.text
    return reply.json()


# --- API tokens: revocation -----------------------------------------------------------------------------------


@pytest.mark.parametrize("change", [{"password": "a brand new one 2"}, {"is_active": False}, {"role": "finance"}],
                         ids=["password_reset", "deactivated", "role_change"])
async def test_user_change_revokes_api_tokens(api, change):
    org = await make_org()
    user = org.a.users["project_manager"]  # owns no open work, so may be deactivated at once
    me, admin = await caller(api, user), await caller(api, org.admin)
    secrets = [(await _token(me, name=name))["token"] for name in ("crm", "backup")]
    bystander = (await _token(await caller(api, org.a.users["agent2"])))["token"]
    assert all([await _works(api, s) for s in secrets])
    await _patch_user(admin, user, **change)
    assert not any([await _works(api, s) for s in secrets])
    assert await _works(api, bystander)
    rows = await ApiToken.select().where(ApiToken.user == user.id)
    assert all(r["revoked_at"] is not None for r in rows)
    logged = await ChangeLog.select().where((ChangeLog.table_name == "api_tokens") & (ChangeLog.action == "revoke"))
    assert sorted(r["row_id"] for r in logged) == sorted(str(r["id"]) for r in rows)
    assert all(r["actor_id"] == org.admin.id and r["owner_id"] == user.id for r in logged)
    reason = next(iter(change)).replace("password", "password_reset").replace("is_active", "deactivated")
    assert {json.loads(r["changes"])["after"]["reason"] for r in logged} == {reason.replace("role", "role_change")}


async def test_password_reset_also_ends_sessions_but_a_role_change_does_not(api):
    org = await make_org()
    agent, legal = org.a.users["agent1"], org.a.users["legal"]
    admin = await caller(api, org.admin)
    agent_session, _ = await open_session(agent)
    legal_session, _ = await open_session(legal)
    await _patch_user(admin, agent, password="a brand new one 2")
    await _patch_user(admin, legal, role="finance")
    assert not await Session.exists().where(Session.user == agent.id)
    me = await api.get("/api/auth/me", headers={"cookie": f"ipms_session={legal_session}"})
    assert me.status_code == 200 and me.json()["user"]["role"] == "finance"  # the session reads the new role
    assert (await api.get("/api/auth/me", headers={"cookie": f"ipms_session={agent_session}"})).status_code == 401


async def test_other_user_edits_leave_api_tokens_alone(api):
    org = await make_org()
    user = org.a.users["agent1"]
    secret = (await _token(await caller(api, user)))["token"]
    admin = await caller(api, org.admin)
    await _patch_user(admin, user, display_name="新名字", phone="13900000000")
    await _patch_user(admin, user, role="agent")  # the same role is no change
    assert await _works(api, secret)


# --- API tokens: expiry ---------------------------------------------------------------------------------------


async def test_api_token_expires_after_the_default_term(api, database):
    org = await make_org()
    me = await caller(api, org.a.users["agent1"])
    before = dt.datetime.now(dt.UTC)
    made = await _token(me)
    expires = dt.datetime.fromisoformat(made["expires_at"])
    assert database.api_token_days == 90
    assert before + dt.timedelta(days=90) <= expires <= dt.datetime.now(dt.UTC) + dt.timedelta(days=90)
    listed = (await me.get("/api/auth/tokens")).json()
    assert [dt.datetime.fromisoformat(t["expires_at"]) for t in listed] == [expires]
    assert await actor_for_api_token(made["token"], at=expires - dt.timedelta(seconds=1)) is not None
    assert await actor_for_api_token(made["token"], at=expires) is None


async def test_api_token_term_chosen_at_creation(api):
    org = await make_org()
    me = await caller(api, org.a.users["agent1"])
    made = await _token(me, expires_in_days=7)
    term = dt.datetime.fromisoformat(made["expires_at"]) - dt.datetime.fromisoformat(made["created_at"])
    assert term == dt.timedelta(days=7)
    for bad in (0, 3651, -1):
        reply = await me.post("/api/auth/tokens", json={"name": "x", "expires_in_days": bad})
        assert reply.status_code == 422 and reply.json()["field"] == "expires_in_days", reply.text


async def test_expired_api_token_answers_401(api):
    org = await make_org()
    user = org.a.users["agent1"]
    secret = (await create_api_token(actor(user), "old", 30, at=dt.datetime.now(dt.UTC) - dt.timedelta(days=31))).token
    for request in (api.get("/api/auth/me", headers={"authorization": f"Bearer {secret}"}),
                    api.post("/api/clients", json={"name": "x"}, headers={"authorization": f"Bearer {secret}"})):
        reply = await request
        assert reply.status_code == 401 and reply.json()["error"] == "unauthorized", reply.text
    fresh = (await create_api_token(actor(user), "new", 30, at=dt.datetime.now(dt.UTC) - dt.timedelta(days=29))).token
    assert await _works(api, fresh)


async def test_api_token_without_an_expiry_does_not_work(api):
    """Rows from before expiry existed get one in a migration; one missing it anyway is refused, not eternal."""
    org = await make_org()
    made = await create_api_token(actor(org.a.users["agent1"]), "legacy", 30)
    await ApiToken.update({ApiToken.expires_at: None}).where(ApiToken.id == made.id)
    assert not await _works(api, made.token)


# --- no token material in the change log ----------------------------------------------------------------------


async def test_change_log_holds_no_token_or_session_material(api):
    org = await make_org()
    user = org.a.users["agent1"]
    signed_in = await login(api, user.username)
    session_token, csrf = session_cookie(signed_in).value, signed_in.json()["csrf_token"]
    me = Caller(api, session_token, csrf)
    made = await _token(me)
    assert await _works(api, made["token"])
    assert (await me.delete(f"/api/auth/tokens/{made['id']}")).status_code == 204
    other = await _token(me)
    await _patch_user(await caller(api, org.admin), user, password="a brand new one 2")  # revokes `other`
    assert (await me.post("/api/auth/logout")).status_code in (200, 401)
    stored = await ApiToken.select(ApiToken.token_hash, ApiToken.prefix)
    sessions = await Session.select(Session.token_hash, Session.csrf_token)
    material = {made["token"], other["token"], made["prefix"], other["prefix"], session_token, csrf,
                *(r["token_hash"] for r in stored), *(r["csrf_token"] for r in sessions)}
    material |= {t[5:17] for t in (made["token"], other["token"])}  # any run of the secret after "ipms_"
    log = [json.dumps({k: str(v) for k, v in row.items()}) for row in await ChangeLog.select()]
    assert len(log) >= 6
    assert not [(m, line) for m in material for line in log if m in line]
    created = await ChangeLog.select(ChangeLog.changes).where(
        (ChangeLog.table_name == "api_tokens") & (ChangeLog.action == "create"))
    assert [set(json.loads(r["changes"])["after"]) for r in created] == [{"name", "expires_at"}] * 2


async def test_audit_list_shows_managers_no_token_prefix(api):
    org = await make_org()
    made = await _token(await caller(api, org.a.users["agent1"]))
    manager = await caller(api, org.a.users["branch_manager"])
    listed = (await manager.get("/api/audit", params={"table": "api_tokens"})).json()["items"]
    tokens = [item for item in listed if item.get("table_name") == "api_tokens"]
    assert tokens and made["prefix"] not in json.dumps(listed) and made["token"] not in json.dumps(listed)


# --- privileged roles -----------------------------------------------------------------------------------------


async def _inbox(user: Any) -> list[dict[str, Any]]:
    return await InboxItem.select().where(InboxItem.user == user.id).order_by(InboxItem.created_at)


async def _grants() -> list[dict[str, Any]]:
    return await ChangeLog.select().where(ChangeLog.action == "grant_role").order_by(ChangeLog.seq)


async def _second_executive(org: Org, language: str = "en") -> Any:
    executive = await make_user(org.a.branch, "executive", "exec2")
    from backend.accounts.tables import User

    await User.update({User.language: language}).where(User.id == executive.id)
    return executive


@pytest.mark.parametrize("role", ["executive", "branch_manager", "admin"])
async def test_creating_a_privileged_user_notifies_every_active_executive(api, role):
    org = await make_org()
    second = await _second_executive(org)
    retired = await make_user(org.a.branch, "executive", "exec_retired")
    from backend.accounts.tables import User

    await User.update({User.is_active: False}).where(User.id == retired.id)
    admin = await caller(api, org.admin)
    made = await admin.post("/api/users", json={"username": "newboss", "display_name": "新老板",
                                                "password": "long enough 1", "role": role,
                                                "branch_id": str(org.b.branch.id)})
    assert made.status_code == 201, made.text
    new_id = uuid.UUID(made.json()["id"])
    zh, en = await _inbox(org.executive), await _inbox(second)
    assert len(zh) == len(en) == 1 and await _inbox(retired) == []
    assert zh[0]["kind"] == en[0]["kind"] == "role_granted" and zh[0]["source_id"] == new_id
    assert "newboss" in zh[0]["title"] and "Branch B" in zh[0]["body"] and "ADMIN" in zh[0]["body"]
    assert en[0]["title"].startswith("Privileged role granted") and zh[0]["urgency"] == "high"
    [grant] = await _grants()
    changes = json.loads(grant["changes"])
    assert (grant["actor_id"], grant["row_id"], grant["table_name"]) == (org.admin.id, str(new_id), "users")
    assert changes["before"] == {"role": None} and changes["after"]["role"] == role
    assert sorted(changes["after"]["notified"]) == sorted([str(org.executive.id), str(second.id)])


async def test_role_change_to_executive_notifies_the_other_executives(api):
    org = await make_org()
    agent = org.a.users["agent1"]
    await _patch_user(await caller(api, org.admin), agent, role="executive")
    [item] = await _inbox(org.executive)
    assert item["kind"] == "role_granted" and "经纪人" in item["body"] and "高管" in item["title"]
    assert await _inbox(agent) == []  # the grantee is not told about themselves
    [grant] = await _grants()
    assert json.loads(grant["changes"])["before"] == {"role": "agent"}


async def test_ordinary_roles_are_not_announced(api):
    org = await make_org()
    admin = await caller(api, org.admin)
    made = await admin.post("/api/users", json={"username": "newbie", "display_name": "新人",
                                                "password": "long enough 1", "role": "agent",
                                                "branch_id": str(org.a.branch.id)})
    assert made.status_code == 201, made.text
    await _patch_user(admin, org.a.users["agent1"], role="legal")
    await _patch_user(admin, org.a.users["branch_manager"], display_name="still the manager")
    assert await _inbox(org.executive) == [] and await _grants() == []


async def test_privileged_user_made_on_the_command_line_is_announced(database):
    org = await make_org()
    await create_user(None, {"username": "ops", "display_name": "Ops", "password": "long enough 1",
                             "role": "admin", "branch_id": org.a.branch.id})
    [item] = await _inbox(org.executive)
    assert "系统命令行" in item["body"] or "command line" in item["body"]
    [grant] = await _grants()
    assert grant["actor_id"] is None


async def test_failed_grant_notifies_nobody(api):
    org = await make_org()
    admin = await caller(api, org.admin)
    reply = await admin.patch(f"/api/users/{org.a.users['agent1'].id}", json={"version": 99, "role": "executive"})
    assert reply.status_code == 409
    assert await _inbox(org.executive) == [] and await _grants() == []


# --- device ids -----------------------------------------------------------------------------------------------


async def test_device_id_taken_answers_one_conflict_whoever_holds_it(api):
    org = await make_org()
    from backend.accounts.tables import User

    holders = [org.a.users["agent2"], org.b.users["agent1"], org.a.users["legal"]]  # the last one then disabled
    device_ids = []
    for holder in holders:
        device_id = str(uuid.uuid4())
        reply = await (await caller(api, holder)).request("PUT", f"/api/auth/devices/{device_id}", json={"label": "x"})
        assert reply.status_code == 200, reply.text
        device_ids.append(device_id)
    await User.update({User.is_active: False}).where(User.id == holders[2].id)
    me = await caller(api, org.a.users["agent1"])
    replies = [await me.request("PUT", f"/api/auth/devices/{d}", json={"label": "mine"}) for d in device_ids]
    assert {r.status_code for r in replies} == {409}
    assert len({r.text for r in replies}) == 1
    assert replies[0].json()["error"] == "conflict" and replies[0].json()["field"] == "id"
    mine = str(uuid.uuid4())
    assert (await me.request("PUT", f"/api/auth/devices/{mine}", json={"label": "mine"})).status_code == 200
    assert (await me.request("PUT", f"/api/auth/devices/{mine}", json={"label": "again"})).status_code == 200


# --- hashing off the event loop -------------------------------------------------------------------------------


def test_argon2id_with_owasp_minimum_parameters():
    hasher = passwords.HASHER
    assert (hasher.type.name, hasher.time_cost, hasher.memory_cost, hasher.parallelism) == ("ID", 2, 19456, 1)
    assert passwords.POOL._max_workers == 2


async def test_password_work_runs_in_the_pool_never_on_the_loop(api, database, monkeypatch):
    org = await make_org()
    threads: list[str] = []
    for name in ("_verify", "hash_password"):
        real = getattr(passwords, name)

        def spy(*args: Any, _real: Any = real) -> Any:
            threads.append(threading.current_thread().name)
            return _real(*args)

        monkeypatch.setattr(passwords, name, spy)
    settings: Settings = database
    await sign_in(org.a.users["agent1"].username, PASSWORD, ip=PEER, user_agent="pytest", settings=settings)
    with pytest.raises(Exception, match="Wrong"):  # an unknown username costs a verification too
        await sign_in("nobody", PASSWORD, ip=PEER, user_agent="pytest", settings=settings)
    admin = await caller(api, org.admin)
    await _patch_user(admin, org.a.users["agent2"], password="a brand new one 2")
    await admin.post("/api/users", json={"username": "newbie", "display_name": "新人", "password": "long enough 1",
                                         "role": "agent", "branch_id": str(org.a.branch.id)})
    assert len(threads) == 4
    assert all(name.startswith("argon2") for name in threads), threads
    assert threading.main_thread().name not in threads
