"""Issue 14, users: one-time passwords (shown once, changed at first sign-in) and the edits an admin may not make
(duplicate username, own supervisor, supervisor loop, last admin) — each names its field and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from backend.accounts.tables import Session, User
from backend.audit.tables import ChangeLog
from tests.support.accounts import login, session_cookie
from tests.support.factories import caller, make_org

pytestmark = pytest.mark.anyio


async def _invite(admin: Any, org: Any, username: str = "newbie", **more: Any) -> Any:
    return await admin.post("/api/users/invite", json={
        "username": username, "display_name": "新人", "role": "agent", "branch_id": str(org.a.branch.id), **more})


async def test_invited_user_signs_in_once_and_must_choose_a_password(api):
    org = await make_org()
    admin = await caller(api, org.admin)
    reply = await _invite(admin, org)
    assert reply.status_code == 201, reply.text
    body = reply.json()
    one_time = body["one_time_password"]
    assert body["user"]["must_change_password"] is True and len(one_time) >= 12
    assert one_time not in str(await ChangeLog.select(ChangeLog.changes))  # never logged
    signed = await login(api, "newbie", one_time)
    assert signed.status_code == 201, signed.text
    assert signed.json()["user"]["must_change_password"] is True
    cookie = {"cookie": f"ipms_session={session_cookie(signed).value}"}
    csrf = {"x-csrf-token": signed.json()["csrf_token"], **cookie}
    assert (await api.get("/api/clients", headers=cookie)).status_code == 403  # nothing else before the change
    wrong = await api.post("/api/auth/password", json={"current_password": "nope", "new_password": "mine 12345"},
                           headers=csrf)
    assert wrong.status_code == 422 and wrong.json()["field"] == "current_password"
    changed = await api.post("/api/auth/password", json={"current_password": one_time,
                                                        "new_password": "my own secret 7"}, headers=csrf)
    assert changed.status_code == 200, changed.text
    assert (await api.get("/api/clients", headers=cookie)).status_code == 200  # the same session goes on
    assert not (await User.select(User.must_change_password).where(User.username == "newbie").first())[
        "must_change_password"]
    assert (await login(api, "newbie", one_time)).status_code == 401
    assert (await login(api, "newbie", "my own secret 7")).status_code == 201


async def test_password_reset_gives_a_one_time_password_and_ends_sessions(api):
    org = await make_org()
    admin, agent = await caller(api, org.admin), org.a.users["agent1"]
    await caller(api, agent)
    version = (await admin.get(f"/api/users/{agent.id}")).json()["version"]
    reply = await admin.post(f"/api/users/{agent.id}/password-reset", json={"version": version})
    assert reply.status_code == 200, reply.text
    assert not await Session.exists().where(Session.user == agent.id)
    signed = await login(api, agent.username, reply.json()["one_time_password"])
    assert signed.status_code == 201, signed.text
    cookie = {"cookie": f"ipms_session={session_cookie(signed).value}"}
    assert (await api.get("/api/visits", headers=cookie)).status_code == 403


async def _refused(reply: Any, field: str) -> None:
    assert reply.status_code == 422, reply.text
    assert reply.json()["field"] == field, reply.json()


async def test_bad_user_edits_name_the_field_and_write_nothing(api):
    org = await make_org()
    admin = await caller(api, org.admin)
    bm, agent = org.a.users["branch_manager"], org.a.users["agent1"]
    logged = await ChangeLog.count()
    await _refused(await _invite(admin, org, username=agent.username), "username")
    version = (await admin.get(f"/api/users/{bm.id}")).json()["version"]
    await _refused(await admin.patch(f"/api/users/{bm.id}", json={"version": version, "supervisor_id": str(bm.id)}),
                   "supervisor_id")
    # agent1 reports to the branch manager: making agent1 the manager's supervisor would loop A → B → A.
    await _refused(await admin.patch(f"/api/users/{bm.id}", json={"version": version,
                                                                  "supervisor_id": str(agent.id)}), "supervisor_id")
    admin_version = (await admin.get(f"/api/users/{org.admin.id}")).json()["version"]
    await _refused(await admin.patch(f"/api/users/{org.admin.id}", json={"version": admin_version,
                                                                         "is_active": False}), "is_active")
    await _refused(await admin.patch(f"/api/users/{org.admin.id}", json={"version": admin_version,
                                                                         "role": "executive"}), "role")
    agent_version = (await admin.get(f"/api/users/{agent.id}")).json()["version"]
    open_work = await admin.patch(f"/api/users/{agent.id}", json={"version": agent_version, "is_active": False})
    await _refused(open_work, "reassign_to")
    assert open_work.json()["open_work"] == {"client": 1, "opportunity": 1, "project": 1, "visit": 1}
    assert "1 clients" in open_work.json()["message"]
    assert await ChangeLog.count() == logged
    assert (await User.select(User.supervisor).where(User.id == bm.id).first())["supervisor"] == org.executive.id


async def test_guide_state_is_remembered_per_user_and_checked(database):
    from backend.accounts.services import guide_state, set_guide_state
    from backend.errors import Invalid
    from tests.support.factories import actor

    org = await make_org()
    agent, other = actor(org.a.users["agent1"]), actor(org.a.users["agent2"])
    assert await guide_state(agent) == ""
    await set_guide_state(agent, "2")
    assert await guide_state(agent) == "2" and await guide_state(other) == ""
    await set_guide_state(agent, "closed")
    assert await guide_state(agent) == "closed"
    with pytest.raises(Invalid) as refused:
        await set_guide_state(agent, "everything")
    assert refused.value.field == "guide"
    await set_guide_state(agent, "")
    assert await guide_state(agent) == ""


async def test_branch_without_a_time_zone_and_calendar_ending_before_it_starts_are_refused(database):
    import datetime as dt

    from backend.accounts.services import BRANCHES
    from backend.errors import Invalid
    from backend.lifecycle import services as life
    from tests.support.factories import actor

    org = await make_org()
    admin = actor(org.admin)
    with pytest.raises(Invalid) as refused:
        await BRANCHES.update(admin, org.a.branch.id, 1, {"timezone": ""})
    assert refused.value.field == "timezone"
    with pytest.raises(Invalid) as backwards:
        await life.save_branch_calendar(admin, org.a.branch.id, {"hours": [["18:00", "09:00"]]}, None)
    assert backwards.value.field == "hours[0]"
    assert await life.branch_calendar(admin, org.a.branch.id) is None  # nothing written
    saved = await life.save_branch_calendar(admin, org.a.branch.id, {"holidays": ["2027-02-10"],
                                                                     "workdays": ["2027-02-07"]}, None)
    days = {d["date"]: d["kind"] for d in life.month_days(saved, 2027, 2)}
    assert len(days) == 28 and days[dt.date(2027, 2, 10)] == "holiday" and days[dt.date(2027, 2, 7)] == "makeup"
    assert days[dt.date(2027, 2, 6)] == "off" and days[dt.date(2027, 2, 8)] == "work"
