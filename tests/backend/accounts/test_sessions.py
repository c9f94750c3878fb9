"""Sign-in sessions, CSRF, API tokens and cookie flags (issue 2, "Sessions"); the sign-in limits are in
tests/backend/accounts/test_signin.py."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import httpx
import pytest

from backend.accounts.services import actor_for_session, sha256, sign_in
from backend.accounts.tables import ApiToken, Session, User
from backend.audit.tables import ChangeLog
from backend.clients.tables import Client
from backend.settings import Settings
from backend.visits.tables import Visit
from backend.web import SESSION_COOKIE, session_cookies
from tests.support.accounts import PEER, client_for, login, session_cookie
from tests.support.factories import PASSWORD, caller, make_org, open_session

pytestmark = pytest.mark.anyio

UTC = dt.UTC


async def me(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get("/api/auth/me", headers={"cookie": f"{SESSION_COOKIE}={token}"})


async def session_rows(user: Any) -> list[dict[str, Any]]:
    return await Session.select().where(Session.user == user.id)


# --- session id at login, logout, disabled users ---------------------------------------------------------------


async def test_login_issues_new_session_id_every_time(api):
    org = await make_org()
    agent = org.a.users["agent1"]
    first, second = await login(api, agent.username), await login(api, agent.username)
    assert first.status_code == second.status_code == 201, first.text
    one, two = session_cookie(first).value, session_cookie(second).value
    assert one and two and one != two
    assert first.json()["csrf_token"] != second.json()["csrf_token"]
    hashes = {row["token_hash"] for row in await session_rows(agent)}
    assert {sha256(one), sha256(two)} <= hashes
    assert one not in hashes and two not in hashes  # the token itself is never stored
    assert (await me(api, two)).json()["user"]["username"] == agent.username


async def test_login_with_planted_cookie_gets_fresh_session(api):
    """Session fixation: whatever cookie the browser sends at sign-in, the session is a new server-made one."""
    org = await make_org()
    agent = org.a.users["agent1"]
    planted = "attacker-chosen-session-id-0123456789abcdef"
    response = await login(api, agent.username, cookie=f"{SESSION_COOKIE}={planted}")
    assert response.status_code == 201, response.text
    fresh = session_cookie(response).value
    assert fresh != planted
    assert (await me(api, planted)).status_code == 401
    assert (await me(api, fresh)).status_code == 200
    assert not await Session.exists().where(Session.token_hash == sha256(planted))


async def test_login_with_existing_session_cookie_replaces_it(api):
    """A real session cookie sent at sign-in (someone else's, planted in this browser) is not the new session."""
    org = await make_org()
    agent, other = org.a.users["agent1"], org.a.users["agent2"]
    planted, _ = await open_session(other)
    response = await login(api, agent.username, cookie=f"{SESSION_COOKIE}={planted}")
    assert response.status_code == 201, response.text
    fresh = session_cookie(response).value
    assert fresh != planted
    assert (await me(api, fresh)).json()["user"]["username"] == agent.username
    assert (await me(api, planted)).status_code == 401  # the browser's previous session ended with the new sign-in


async def test_logout_invalidates_session_on_server(api):
    org = await make_org()
    agent = org.a.users["agent1"]
    response = await login(api, agent.username)
    token, csrf = session_cookie(response).value, response.json()["csrf_token"]
    out = await api.post("/api/auth/logout", headers={"cookie": f"{SESSION_COOKIE}={token}", "x-csrf-token": csrf})
    assert out.status_code == 200, out.text
    cleared = session_cookie(out)
    assert cleared is not None and cleared.value == "" and cleared["max-age"] == "0"
    assert not await Session.exists().where(Session.token_hash == sha256(token))
    # The old cookie, replayed (a copy kept by an attacker or another tab), no longer works.
    replay = await me(api, token)
    assert replay.status_code == 401
    assert replay.json()["error"] == "unauthorized"


async def test_disabling_user_signs_them_out_at_once(api):
    org = await make_org()
    agent = org.a.users["project_manager"]  # owns no open work (agents' is handed over first)
    admin = await caller(api, org.admin)
    token, _ = await open_session(agent)
    second, _ = await open_session(agent)
    assert (await me(api, token)).status_code == 200
    current = (await admin.get(f"/api/users/{agent.id}")).json()
    response = await admin.patch(f"/api/users/{agent.id}", json={"version": current["version"], "is_active": False})
    assert response.status_code == 200, response.text
    assert response.json()["is_active"] is False
    assert await session_rows(agent) == []
    assert (await me(api, token)).status_code == 401
    assert (await me(api, second)).status_code == 401
    again = await login(api, agent.username)
    assert again.status_code == 401 and session_cookie(again) is None


async def test_session_of_user_disabled_behind_the_apis_back_is_refused(api):
    """Even a session row that survived (user disabled directly in the database) stops working."""
    org = await make_org()
    agent = org.a.users["agent1"]
    token, _ = await open_session(agent)
    await User.update({User.is_active: False}).where(User.id == agent.id)
    assert (await me(api, token)).status_code == 401
    assert await session_rows(agent) == []


# --- timeouts -------------------------------------------------------------------------------------------------


async def _sign_in_at(database: Settings, username: str, at: dt.datetime) -> str:
    result = await sign_in(username, PASSWORD, ip=PEER, user_agent="pytest", settings=database, at=at)
    return result.token


async def test_idle_timeout_expires_session(database):
    org = await make_org()
    username = org.a.users["agent1"].username
    t0 = dt.datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
    idle = dt.timedelta(hours=database.session_idle_hours)
    assert idle == dt.timedelta(hours=12)

    kept = await _sign_in_at(database, username, t0)
    assert await actor_for_session(kept, database, at=t0 + idle - dt.timedelta(minutes=1)) is not None

    # Activity moves the idle deadline: used at 11 h, the session still works at 11 h + 11 h.
    active = await _sign_in_at(database, username, t0)
    assert await actor_for_session(active, database, at=t0 + dt.timedelta(hours=11)) is not None
    assert await actor_for_session(active, database, at=t0 + dt.timedelta(hours=22)) is not None

    expired = await _sign_in_at(database, username, t0)
    assert await actor_for_session(expired, database, at=t0 + idle + dt.timedelta(seconds=1)) is None
    assert not await Session.exists().where(Session.token_hash == sha256(expired))
    # Gone for good: going "back in time" does not revive it.
    assert await actor_for_session(expired, database, at=t0) is None


async def test_absolute_timeout_expires_active_session(database):
    org = await make_org()
    username = org.a.users["agent1"].username
    t0 = dt.datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
    absolute = dt.timedelta(days=database.session_absolute_days)
    assert absolute == dt.timedelta(days=30)
    token = await _sign_in_at(database, username, t0)
    at = t0
    while at + dt.timedelta(hours=10) < t0 + absolute:  # used every 10 hours, never idle
        at += dt.timedelta(hours=10)
        assert await actor_for_session(token, database, at=at) is not None, at
    assert await actor_for_session(token, database, at=t0 + absolute + dt.timedelta(seconds=1)) is None
    assert not await Session.exists().where(Session.token_hash == sha256(token))


async def test_timeouts_hold_over_http(api):
    """The same rules through the API, with the times written into the session rows."""
    org = await make_org()
    agent = org.a.users["agent1"]
    now = dt.datetime.now(UTC)
    idle_token, _ = await open_session(agent)
    await Session.update({Session.last_seen_at: now - dt.timedelta(hours=12, minutes=1)}).where(
        Session.token_hash == sha256(idle_token))
    old_token, _ = await open_session(agent, created_at=now - dt.timedelta(days=30, minutes=1))
    await Session.update({Session.last_seen_at: now}).where(Session.token_hash == sha256(old_token))
    fresh_token, _ = await open_session(agent, created_at=now - dt.timedelta(days=29))
    await Session.update({Session.last_seen_at: now - dt.timedelta(hours=11)}).where(
        Session.token_hash == sha256(fresh_token))

    assert (await me(api, idle_token)).status_code == 401
    assert (await me(api, old_token)).status_code == 401
    assert (await me(api, fresh_token)).status_code == 200
    assert [r["token_hash"] for r in await session_rows(agent)] == [sha256(fresh_token)]


# --- CSRF -----------------------------------------------------------------------------------------------------


async def _write_state() -> tuple[int, int, list[dict[str, Any]], int]:
    clients = await Client.select(Client.id, Client.name, Client.version).order_by(Client.id)
    return await Client.count(), await Visit.count(), clients, await ChangeLog.count()


@pytest.mark.parametrize("csrf", [None, "", "wrong-token"], ids=["missing", "empty", "wrong"])
async def test_cookie_write_without_valid_csrf_token_is_refused(api, csrf):
    org = await make_org()
    agent = org.a.users["agent1"]
    mine = org.a.records["agent1"]
    token, _ = await open_session(agent)
    headers = {"cookie": f"{SESSION_COOKIE}={token}"}
    if csrf is not None:
        headers["x-csrf-token"] = csrf
    before = await _write_state()
    attempts = [
        api.post("/api/clients", json={"name": "csrf victim"}, headers=headers),
        api.patch(f"/api/clients/{mine['client'].id}", json={"version": 1, "name": "renamed"}, headers=headers),
        api.delete(f"/api/visits/{mine['visit'].id}", headers=headers),
        api.post("/api/auth/logout", headers=headers),
        api.post("/api/auth/tokens", json={"name": "stolen"}, headers=headers),
    ]
    for attempt in attempts:
        response = await attempt
        assert response.status_code == 403, (response.request.method, response.request.url, response.text)
        assert response.json()["error"] == "csrf"
    assert await _write_state() == before
    assert await ApiToken.count() == 0
    assert (await me(api, token)).status_code == 200  # the refused logout did not end the session


async def test_cookie_write_with_csrf_token_and_bearer_write_without_one_succeed(api):
    org = await make_org()
    agent = await caller(api, org.a.users["agent1"])
    created = await agent.post("/api/clients", json={"name": "with token"})
    assert created.status_code == 201, created.text
    issued = await agent.post("/api/auth/tokens", json={"name": "integration"})
    assert issued.status_code == 201, issued.text
    bearer = {"authorization": f"Bearer {issued.json()['token']}"}
    response = await api.post("/api/clients", json={"name": "via bearer"}, headers=bearer)
    assert response.status_code == 201, response.text
    patched = await api.patch(f"/api/clients/{response.json()['id']}", json={"version": 1, "name": "renamed"},
                              headers=bearer)
    assert patched.status_code == 200, patched.text
    assert {c["name"] for c in await Client.select(Client.name).where(Client.owner == org.a.users["agent1"].id)} >= {
        "with token", "renamed"}


# --- API tokens -----------------------------------------------------------------------------------------------


async def test_api_token_hashed_at_rest_and_revocable(api):
    org = await make_org()
    user = org.a.users["agent1"]
    agent = await caller(api, user)
    response = await agent.post("/api/auth/tokens", json={"name": "crm sync"})
    assert response.status_code == 201, response.text
    body = response.json()
    secret = body["token"]
    assert len(secret) > 30

    rows = await ApiToken.select()
    assert len(rows) == 1 and rows[0]["token_hash"] == sha256(secret) and rows[0]["user"] == user.id
    stored = [str(v) for row in rows for v in row.values()]
    stored += [str(row) for row in await ChangeLog.select()]
    assert not [v for v in stored if secret in v], "the plaintext token is stored"
    listed = (await agent.get("/api/auth/tokens")).json()
    assert [t["id"] for t in listed] == [body["id"]] and secret not in str(listed)

    bearer = {"authorization": f"Bearer {secret}"}
    who = await api.get("/api/auth/me", headers=bearer)
    assert who.status_code == 200 and who.json()["user"]["id"] == str(user.id)
    assert (await api.get("/api/auth/me", headers={"authorization": f"Bearer {secret}x"})).status_code == 401
    assert (await api.get("/api/auth/me", headers={"authorization": f"Bearer {sha256(secret)}"})).status_code == 401

    revoked = await agent.delete(f"/api/auth/tokens/{body['id']}")
    assert revoked.status_code == 204, revoked.text
    assert (await api.get("/api/auth/me", headers=bearer)).status_code == 401
    assert (await api.post("/api/clients", json={"name": "after revoke"}, headers=bearer)).status_code == 401
    assert (await agent.delete(f"/api/auth/tokens/{body['id']}")).status_code == 404


async def test_api_token_of_other_user_cannot_be_revoked(api):
    org = await make_org()
    owner, other = await caller(api, org.a.users["agent1"]), await caller(api, org.a.users["agent2"])
    token = (await owner.post("/api/auth/tokens", json={"name": "mine"})).json()
    assert (await other.delete(f"/api/auth/tokens/{token['id']}")).status_code == 404
    assert (await api.get("/api/auth/me", headers={"authorization": f"Bearer {token['token']}"})).status_code == 200


async def test_api_token_of_disabled_user_stops_working(api):
    org = await make_org()
    user = org.a.users["project_manager"]  # reads clients, owns no open work
    agent, admin = await caller(api, user), await caller(api, org.admin)
    secret = (await agent.post("/api/auth/tokens", json={"name": "crm"})).json()["token"]
    bearer = {"authorization": f"Bearer {secret}"}
    assert (await api.get("/api/clients", headers=bearer)).status_code == 200
    version = (await admin.get(f"/api/users/{user.id}")).json()["version"]
    disabled = await admin.patch(f"/api/users/{user.id}", json={"version": version, "is_active": False})
    assert disabled.status_code == 200, disabled.text
    assert (await api.get("/api/clients", headers=bearer)).status_code == 401
    assert (await api.post("/api/clients", json={"name": "x"}, headers=bearer)).status_code == 401


# --- cookie flags ---------------------------------------------------------------------------------------------


async def test_session_cookie_flags_in_development(api):
    org = await make_org()
    response = await login(api, org.a.users["agent1"].username)
    cookie = session_cookie(response)
    assert cookie["httponly"] is True
    assert cookie["samesite"].lower() == "lax"
    assert cookie["path"] == "/"
    assert not cookie["secure"]  # plain http on a developer's machine


async def test_session_cookie_secure_in_production(database):
    production = dataclasses.replace(database, env="production", secret_key="s" * 40)
    await make_org()
    async with client_for(production) as client:
        response = await login(client, "A_agent1")
    assert response.status_code == 201, response.text
    cookie = session_cookie(response)
    assert cookie["secure"] is True and cookie["httponly"] is True and cookie["samesite"].lower() == "lax"
    cleared = session_cookies(production, None)[0]
    assert cleared.secure and cleared.httponly and cleared.max_age == 0
