"""Issue 14: deactivating a user with open work asks where it goes and moves it, with the account's sessions,
tokens and push subscriptions ending, in one step; the admin sees counts and candidates, never the records."""

from __future__ import annotations

import pytest

from backend.accounts.tables import ApiToken, Session, User
from backend.clients.tables import Client, Opportunity
from backend.projects.tables import Project
from backend.visits.tables import Visit
from notifications.push.tables import PushSubscription
from tests.support import push
from tests.support.factories import caller, make_org

pytestmark = pytest.mark.anyio


async def test_departure_shows_counts_and_who_may_take_them(api):
    org = await make_org()
    admin = await caller(api, org.admin)
    leaving = org.a.users["agent2"]
    reply = await admin.get(f"/api/handover/users/{leaving.id}")
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["counts"] == {"client": 1, "opportunity": 1, "project": 1, "visit": 1}
    takers = {u["id"] for u in body["candidates"]["client"]}
    assert str(org.a.users["agent1"].id) in takers and str(leaving.id) not in takers
    assert str(org.a.users["legal"].id) not in takers  # legal may not own clients
    assert all(u["branch_id"] == str(org.a.branch.id) for k in body["candidates"] for u in body["candidates"][k])
    assert "client of" not in str(body)  # counts only: no client names reach the admin


async def test_deactivation_moves_open_work_and_ends_access_in_one_step(api):
    org = await make_org()
    leaving, taker = org.a.users["agent2"], org.a.users["agent1"]
    me = await caller(api, leaving)
    await push.subscribe_device(me)
    await me.post("/api/auth/tokens", json={"name": "crm"})
    admin = await caller(api, org.admin)
    version = (await admin.get(f"/api/users/{leaving.id}")).json()["version"]
    partial = await admin.post(f"/api/handover/users/{leaving.id}/deactivate", json={
        "version": version, "reassign_to": {"client": str(taker.id)}})
    assert partial.status_code == 422 and partial.json()["field"].startswith("reassign_to."), partial.text
    assert (await Client.select(Client.owner).where(Client.owner == leaving.id).first()) is not None  # rolled back
    wrong = await admin.post(f"/api/handover/users/{leaving.id}/deactivate", json={"version": version, "reassign_to": {
        k: str(org.a.users["legal"].id) for k in ("client", "opportunity", "project", "visit")}})
    assert wrong.status_code == 422 and wrong.json()["field"].startswith("reassign_to."), wrong.text
    done = await admin.post(f"/api/handover/users/{leaving.id}/deactivate", json={"version": version, "reassign_to": {
        k: str(taker.id) for k in ("client", "opportunity", "project", "visit")}})
    assert done.status_code == 200, done.text
    assert done.json()["is_active"] is False
    for table in (Client, Opportunity, Project, Visit):
        assert not await table.exists().where(table.owner == leaving.id)
    assert await Client.exists().where(Client.owner == taker.id)
    assert not await Session.exists().where(Session.user == leaving.id)
    assert not await PushSubscription.exists().where(PushSubscription.user == leaving.id)
    assert all(t["revoked_at"] for t in await ApiToken.select().where(ApiToken.user == leaving.id))
    assert not (await User.select(User.is_active).where(User.id == leaving.id).first())["is_active"]


async def test_branch_manager_may_not_deactivate_through_the_handover(api):
    org = await make_org()
    manager = await caller(api, org.a.users["branch_manager"])
    leaving = org.a.users["agent2"]
    reply = await manager.post(f"/api/handover/users/{leaving.id}/deactivate", json={"version": 1, "reassign_to": {
        "client": str(org.a.users["agent1"].id)}})
    assert reply.status_code == 403, reply.text
    assert await Client.exists().where(Client.owner == leaving.id)


@pytest.mark.parametrize("who", ["agent1", "branch_manager", "project_manager", "legal", "finance"])
async def test_no_business_role_sees_or_deactivates_through_the_handover(api, who):
    org = await make_org()
    me = await caller(api, org.a.users[who])
    leaving = org.a.users["agent2"]
    assert (await me.get(f"/api/handover/users/{leaving.id}")).status_code in (403, 404)
    reply = await me.post(f"/api/handover/users/{leaving.id}/deactivate", json={"version": 1})
    assert reply.status_code in (403, 404), reply.text
    invite = await me.post("/api/users/invite", json={"username": "x_y", "display_name": "X", "role": "agent",
                                                      "branch_id": str(org.a.branch.id)})
    assert invite.status_code == 403, invite.text
    reset = await me.post(f"/api/users/{leaving.id}/password-reset", json={"version": 1})
    assert reset.status_code in (403, 404), reset.text
    assert await User.exists().where((User.id == leaving.id) & (User.is_active == True))  # noqa: E712
