"""Stage transitions through the one service: guards, send back, close, history, audit and access."""

import datetime as dt
import decimal

import pytest

from backend.audit.tables import ChangeLog
from backend.errors import Conflict
from backend.lifecycle import stages
from backend.lifecycle.collections import record_collection
from backend.lifecycle.tables import Milestone, StageEntry, Timer
from backend.projects import services as projects
from backend.projects.tables import Project, ProjectMember
from notifications.tables import InboxItem
from tests.support.factories import actor, caller, make_org
from tests.support.lifecycle import check_off, new_project, open_milestones, walk_to

pytestmark = pytest.mark.anyio


async def snapshot(project_id) -> dict:
    return {
        "project": await Project.select().where(Project.id == project_id).first(),
        "stages": await StageEntry.select().where(StageEntry.project == project_id).order_by(StageEntry.entered_at),
        "milestones": await Milestone.select().where(Milestone.project == project_id).order_by(Milestone.id),
        "timers": await Timer.select().where(Timer.project == project_id).order_by(Timer.id),
        "members": await ProjectMember.count().where(ProjectMember.project == project_id),
        "inbox": await InboxItem.count(),
        "log": await ChangeLog.count(),
    }


async def test_advance_without_required_milestone_is_409_naming_it_and_changes_nothing(api):
    org = await make_org()
    project = await new_project(org)
    await walk_to(org, project["id"], "signing")
    # Everything of signing done except the legal review.
    await check_off(org, project["id"], ["deposit_received", "contract_signed"])
    before = await snapshot(project["id"])
    agent = await caller(api, org.a.users["agent1"])
    reply = await agent.post(f"/api/projects/{project['id']}/advance", json={"version": before["project"]["version"]})
    assert reply.status_code == 409, reply.text
    body = reply.json()
    assert body["error"] == "conflict" and "Contract reviewed by legal" in body["message"]
    assert [(m["key"], m["state"], m["title_zh"]) for m in body["missing"]] == [
        ("contract_review", "open", "合同审核（法务）")]
    assert await snapshot(project["id"]) == before


async def test_stage_history_records_each_stay_with_times_and_actors(database):
    org = await make_org()
    agent = org.a.users["agent1"]
    project = await new_project(org)
    await walk_to(org, project["id"], "signing")
    history = await StageEntry.select().where(StageEntry.project == project["id"]).order_by(StageEntry.entered_at)
    assert [(h["stage_key"], h["outcome"]) for h in history] == [
        ("intake", "advanced"), ("assessment", "advanced"), ("signing", "")]
    assert all(h["entered_by"] == agent.id for h in history)
    assert history[0]["left_at"] == history[1]["entered_at"] and history[0]["left_by"] == agent.id
    assert history[-1]["left_at"] is None
    current = await Project.select().where(Project.id == project["id"]).first()
    assert current["stage_key"] == "signing" and current["stage_entered_at"] == history[-1]["entered_at"]
    # Milestones of the new stage exist with owners and deadlines; the legal specialist is now a participant.
    signing = await open_milestones(project["id"])
    assert {m["key"]: m["owner"] for m in signing} == {
        "contract_review": org.a.users["legal"].id, "deposit_received": org.a.users["finance"].id,
        "contract_signed": agent.id}
    assert all(m["due_at"] > history[-1]["entered_at"] for m in signing)
    assert await ProjectMember.exists().where((ProjectMember.project == project["id"])
                                              & (ProjectMember.user == org.a.users["legal"].id))
    moves = await ChangeLog.select(ChangeLog.action).where(
        (ChangeLog.table_name == "projects") & (ChangeLog.row_id == str(project["id"]))
        & (ChangeLog.action != "rollup")).order_by(ChangeLog.seq)  # deadline moves have rows of their own
    assert [m["action"] for m in moves] == ["create", "advance", "advance"]


async def test_send_back_needs_a_reason_cancels_the_stage_and_reruns_the_earlier_one(api):
    org = await make_org()
    project = await new_project(org)
    await walk_to(org, project["id"], "signing")
    signing = {m["id"] for m in await open_milestones(project["id"])}
    version = (await Project.select(Project.version).where(Project.id == project["id"]).first())["version"]
    agent = await caller(api, org.a.users["agent1"])
    url = f"/api/projects/{project['id']}/send-back"
    reply = await agent.post(url, json={"version": version, "to_stage": "assessment", "reason": " "})
    assert reply.status_code == 422 and reply.json()["field"] == "reason"
    reply = await agent.post(url, json={"version": version, "to_stage": "review", "reason": "合同条款需重谈"})
    assert reply.status_code == 422 and reply.json()["field"] == "to_stage"
    reply = await agent.post(url, json={"version": version, "to_stage": "assessment", "reason": "合同条款需重谈"})
    assert reply.status_code == 200, reply.text
    assert reply.json()["stage_key"] == "assessment"
    left = await Milestone.select(Milestone.state).where(Milestone.id.is_in(list(signing)))
    assert {m["state"] for m in left} == {"cancelled"}
    assert not await Timer.exists().where(Timer.milestone.is_in(list(signing)) & (Timer.state == "pending"))
    history = await StageEntry.select().where(StageEntry.project == project["id"]).order_by(StageEntry.entered_at)
    assert [(h["stage_key"], h["outcome"]) for h in history][-2:] == [("signing", "sent_back"), ("assessment", "")]
    assert history[-2]["note"] == "合同条款需重谈"
    # The earlier run's milestones were done, but the guard asks for this run's.
    version = reply.json()["version"]
    reply = await agent.post(f"/api/projects/{project['id']}/advance", json={"version": version})
    assert reply.status_code == 409
    assert {m["key"] for m in reply.json()["missing"]} == {"title_verified", "price_agreed"}


async def test_close_lost_needs_reason_and_stops_everything(api):
    org = await make_org()
    project = await new_project(org)
    agent = await caller(api, org.a.users["agent1"])
    url = f"/api/projects/{project['id']}/close"
    reply = await agent.post(url, json={"version": project["version"], "outcome": "won"})
    assert reply.status_code == 409 and reply.json()["field"] == "status"
    reply = await agent.post(url, json={"version": project["version"], "outcome": "lost"})
    assert reply.status_code == 422 and reply.json()["field"] == "reason"
    reply = await agent.post(url, json={"version": project["version"], "outcome": "lost", "reason": "客户放弃购房"})
    assert reply.status_code == 200, reply.text
    closed = reply.json()
    assert closed["status"] == "lost" and closed["closed_at"] and closed["next_due_at"] is None
    assert closed["overdue"] is False
    assert not await Milestone.exists().where((Milestone.project == project["id"]) & (Milestone.state == "open"))
    assert not await Timer.exists().where((Timer.project == project["id"]) & (Timer.state == "pending"))
    reply = await agent.post(f"/api/projects/{project['id']}/advance", json={"version": closed["version"]})
    assert reply.status_code == 409 and reply.json()["field"] == "status"


async def test_close_won_from_the_last_stage_with_its_guard_met(database):
    org = await make_org()
    project = await new_project(org, contract_value=decimal.Decimal("20000.00"))
    await walk_to(org, project["id"], "collection")
    await record_collection(actor(org.a.users["finance"]), project["id"], amount=decimal.Decimal("20000.00"),
                            received_on=dt.date.today() - dt.timedelta(days=1))
    await walk_to(org, project["id"], "review")
    owner = actor(org.a.users["agent1"])
    current = await Project.select().where(Project.id == project["id"]).first()
    with pytest.raises(Conflict, match="last stage"):
        await stages.transition(owner, project["id"], current["version"], "advance")
    with pytest.raises(Conflict, match="Deal review written"):
        await stages.transition(owner, project["id"], current["version"], "won")
    await check_off(org, project["id"])
    won = await stages.transition(owner, project["id"], current["version"], "won")
    assert won.status == "won"
    history = await StageEntry.select().where(StageEntry.project == project["id"]).order_by(StageEntry.entered_at)
    assert [h["stage_key"] for h in history] == ["intake", "assessment", "signing", "execution", "collection", "review"]
    assert history[-1]["outcome"] == "won" and history[-1]["left_at"] == won.closed_at


async def test_stale_version_is_409_with_the_current_project(api):
    org = await make_org()
    project = await new_project(org)
    await check_off(org, project["id"])
    agent = await caller(api, org.a.users["agent1"])
    reply = await agent.post(f"/api/projects/{project['id']}/advance", json={"version": project["version"] + 5})
    assert reply.status_code == 409 and reply.json()["field"] == "version"
    assert reply.json()["current"]["stage_key"] == "intake"


@pytest.mark.parametrize(("who", "status"), [("a.legal", 403), ("a.finance", 403), ("b.agent1", 404),
                                             ("executive", 403), ("admin", 404), ("a.agent2", 404)])
async def test_only_those_who_run_a_project_move_it(api, who, status):
    org = await make_org()
    project = await new_project(org, manager_id=None)
    await walk_to(org, project["id"], "signing")  # legal and finance now take part (they can read it)
    version = (await Project.select(Project.version).where(Project.id == project["id"]).first())["version"]
    me = await caller(api, org.all_users()[who])
    reply = await me.post(f"/api/projects/{project['id']}/send-back",
                          json={"version": version, "to_stage": "intake", "reason": "x"})
    assert reply.status_code == status, reply.text


async def test_branch_manager_and_project_manager_move_projects_they_run(api):
    org = await make_org()
    pm, manager = org.a.users["project_manager"], org.a.users["branch_manager"]
    project = await projects.create_project(actor(manager), {"title": "静安公寓租赁", "business_line_id": org.line.id,
                                                             "manager_id": pm.id, "owner_id": org.a.users["agent2"].id})
    await check_off(org, project["id"])
    for who, stage in ((pm, "assessment"), (manager, "intake")):
        me = await caller(api, who)
        version = (await me.get(f"/api/projects/{project['id']}")).json()["version"]
        if stage == "assessment":
            reply = await me.post(f"/api/projects/{project['id']}/advance", json={"version": version})
        else:
            reply = await me.post(f"/api/projects/{project['id']}/send-back",
                                  json={"version": version, "to_stage": "intake", "reason": "需补充客户资料"})
        assert reply.status_code == 200, reply.text
        assert reply.json()["stage_key"] == stage


async def test_lifecycle_view_shows_stage_milestones_history(api):
    org = await make_org()
    project = await new_project(org)
    await walk_to(org, project["id"], "signing")
    agent = await caller(api, org.a.users["agent1"])
    view = (await agent.get(f"/api/projects/{project['id']}/lifecycle")).json()
    assert view["stage_key"] == "signing" and view["current_stage"]["name_zh"] == "签约"
    assert [s["status"] for s in view["stages"]] == ["done", "done", "current", "upcoming", "upcoming", "upcoming"]
    assert view["template_version"]["number"] == 1
    assert {m["key"] for m in view["milestones"] if m["state"] == "open"} == {
        "contract_review", "deposit_received", "contract_signed"}
    assert all(m["overdue"] is False and m["due_at"] for m in view["milestones"] if m["state"] == "open")
    assert [h["stage_key"] for h in view["history"]] == ["intake", "assessment", "signing"]
    assert view["escalation_level"] == 0 and view["overdue"] is False and view["collections"] == []
    legal = await caller(api, org.a.users["legal"])
    seen = (await legal.get(f"/api/projects/{project['id']}/lifecycle")).json()
    assert "collections" not in seen and seen["stage_key"] == "signing"
