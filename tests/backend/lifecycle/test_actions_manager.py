"""Manager actions: reassign a milestone or a project within the branch, nudge an owner. All audited."""

import datetime as dt

import pytest

from backend import records
from backend.accounts.tables import User
from backend.audit.tables import ChangeLog
from backend.inbox import services as inbox_service
from backend.lifecycle import actions
from backend.lifecycle.tables import Milestone
from backend.projects import services
from backend.projects.tables import ProjectMember
from tests.support.factories import actor, caller, make_org, make_user
from tests.support.lifecycle import inbox, new_project, walk_to

pytestmark = pytest.mark.anyio


async def contract_review(org):
    project = await new_project(org)
    await walk_to(org, project["id"], "signing")
    review = await Milestone.select().where((Milestone.project == project["id"])
                                            & (Milestone.key == "contract_review")).first()
    return project, review


async def test_branch_manager_reassigns_a_milestone_within_the_branch(api):
    org = await make_org()
    project, review = await contract_review(org)
    colleague = await make_user(org.a.branch, "legal", "A_legal2", org.a.users["branch_manager"])
    manager = await caller(api, org.a.users["branch_manager"])
    url = f"/api/milestones/{review['id']}/reassign"
    outsider = await manager.post(url, json={"owner_id": str(org.b.users["legal"].id), "version": review["version"]})
    assert outsider.status_code == 404 and outsider.json()["field"] == "owner_id"
    await User.update({User.is_active: False}).where(User.id == org.a.users["finance"].id)
    disabled = await manager.post(url, json={"owner_id": str(org.a.users["finance"].id), "version": review["version"]})
    assert disabled.status_code == 422 and disabled.json()["field"] == "owner_id"
    moved = await manager.post(url, json={"owner_id": str(colleague.id), "version": review["version"]})
    assert moved.status_code == 200, moved.text
    assert moved.json()["owner_id"] == str(colleague.id) and moved.json()["version"] == review["version"] + 1
    stale = await manager.post(url, json={"owner_id": str(colleague.id), "version": review["version"]})
    assert stale.status_code == 409
    assert [i["kind"] for i in await inbox(colleague)] == ["assignment"]
    assert await ProjectMember.exists().where((ProjectMember.project == project["id"])
                                              & (ProjectMember.user == colleague.id))
    them = await caller(api, colleague)
    assert (await them.get(f"/api/projects/{project['id']}")).status_code == 200
    logged = await ChangeLog.select().where((ChangeLog.table_name == "project_milestones")
                                            & (ChangeLog.row_id == str(review["id"]))
                                            & (ChangeLog.action == "reassign")).first()
    assert logged["actor_id"] == org.a.users["branch_manager"].id
    assert logged["changes"]  # owner before and after


@pytest.mark.parametrize(("who", "status"), [("a.agent1", 403), ("a.legal", 403), ("b.branch_manager", 404),
                                             ("executive", 403), ("a.project_manager", 404)])
async def test_others_cannot_reassign_milestones(api, who, status):
    org = await make_org()
    _, review = await contract_review(org)
    me = await caller(api, org.all_users()[who])
    reply = await me.post(f"/api/milestones/{review['id']}/reassign",
                          json={"owner_id": str(org.a.users["agent2"].id), "version": review["version"]})
    assert reply.status_code == status, reply.text


async def test_project_manager_reassigns_on_projects_they_run(api):
    org = await make_org()
    pm = org.a.users["project_manager"]
    project = await services.create_project(actor(org.a.users["branch_manager"]), {
        "title": "静安商铺转让", "business_line_id": org.line.id, "manager_id": pm.id,
        "owner_id": org.a.users["agent1"].id})
    first = (await Milestone.select().where(Milestone.project == project["id"]).order_by(Milestone.position))[0]
    me = await caller(api, pm)
    reply = await me.post(f"/api/milestones/{first['id']}/reassign",
                          json={"owner_id": str(org.a.users["agent2"].id), "version": first["version"]})
    assert reply.status_code == 200, reply.text
    agent2 = await caller(api, org.a.users["agent2"])  # an agent given a milestone joins the team
    assert (await agent2.get(f"/api/projects/{project['id']}")).status_code == 200


async def test_nudge_puts_the_managers_words_in_the_owners_inbox(api):
    org = await make_org()
    project, review = await contract_review(org)
    manager = await caller(api, org.a.users["branch_manager"])
    url = f"/api/milestones/{review['id']}/nudge"
    assert (await manager.post(url, json={"message": ""})).status_code == 422
    blank = await manager.post(url, json={"message": "   "})
    assert blank.status_code == 422 and blank.json()["field"] == "message"
    sent = await manager.post(url, json={"message": "客户今天下午要签字，请优先审核合同"})
    assert sent.status_code == 200, sent.text
    [item] = await inbox(org.a.users["legal"], "nudge")
    assert item["body"] == "项目「浦东三居室买卖」· 合同审核（法务）：客户今天下午要签字，请优先审核合同"
    assert "A_BM" in item["title"] and "合同审核" in item["title"]
    assert item["urgency"] == "normal"  # the review is not late: a nudge about it is not urgent
    assert item["link"].endswith(f"#milestone-{review['id']}")
    assert str(item["id"]) == sent.json()["inbox_item_id"] and sent.json()["repeated"] is False
    assert await ChangeLog.exists().where((ChangeLog.action == "nudge") & (ChangeLog.row_id == str(review["id"])))
    agent = await caller(api, org.a.users["agent1"])
    assert (await agent.post(url, json={"message": "快点"})).status_code == 403
    project_nudge = await manager.post(f"/api/projects/{project['id']}/nudge", json={"message": "本周内推进签约"})
    assert project_nudge.status_code == 200, project_nudge.text
    [to_owner] = await inbox(org.a.users["agent1"], "nudge")
    assert to_owner["body"].endswith("本周内推进签约") and to_owner["link"] == f"/projects/{project['id']}#milestones"


async def test_a_second_nudge_within_ten_minutes_is_the_same_nudge(api):
    org = await make_org()
    _, review = await contract_review(org)
    manager, legal = org.a.users["branch_manager"], org.a.users["legal"]
    now = records.now()
    first = await actions.nudge(actor(manager), "milestone", review["id"], "请今天审完", at=now)
    again = await actions.nudge(actor(manager), "milestone", review["id"], "请今天审完!",
                                at=now + dt.timedelta(minutes=9))
    assert again.repeated and again.inbox_item_id == first.inbox_item_id
    assert len(await inbox(legal, "nudge")) == 1
    assert await ChangeLog.count().where((ChangeLog.action == "nudge")
                                         & (ChangeLog.row_id == str(review["id"]))) == 1
    later = await actions.nudge(actor(manager), "milestone", review["id"], "请今天审完",
                                at=now + dt.timedelta(minutes=11))
    assert not later.repeated and len(await inbox(legal, "nudge")) == 2


async def test_a_nudge_about_an_overdue_milestone_is_urgent_and_reads_in_the_readers_language(api):
    org = await make_org()
    _, review = await contract_review(org)
    legal = org.a.users["legal"]
    late = review["due_at"] + dt.timedelta(hours=3)
    await actions.nudge(actor(org.a.users["branch_manager"]), "milestone", review["id"], "客户在等", at=late)
    [stored] = await inbox(legal, "nudge")
    assert stored["urgency"] == "high"
    zh = (await inbox_service.list_items(actor(legal), lang="zh")).items
    en = (await inbox_service.list_items(actor(legal), lang="en")).items
    [nudge_zh] = [i for i in zh if i.kind == "nudge"]
    [nudge_en] = [i for i in en if i.kind == "nudge"]
    assert nudge_zh.title.endswith("催办：合同审核（法务）") and nudge_zh.urgent
    assert nudge_en.title.endswith("is chasing: Contract reviewed by legal") and "浦东三居室买卖" in nudge_en.body
    assert nudge_en.project_title == "浦东三居室买卖" and nudge_en.urgent
    urgent = await inbox_service.list_items(actor(legal), urgent_only=True)
    assert [i.id for i in urgent.items] == [nudge_zh.id]
    await actions.complete_milestone(actor(legal), review["id"], review["version"], at=late)
    assert not (await inbox_service.list_items(actor(legal), urgent_only=True)).items  # done: no longer urgent


async def test_reassigning_a_project_moves_the_owners_open_milestones(api):
    org = await make_org()
    project, _ = await contract_review(org)
    agent1, agent2 = org.a.users["agent1"], org.a.users["agent2"]
    manager = await caller(api, org.a.users["branch_manager"])
    version = (await manager.get(f"/api/projects/{project['id']}")).json()["version"]
    reply = await manager.post(f"/api/projects/{project['id']}/reassign",
                               json={"owner_id": str(agent2.id), "version": version})
    assert reply.status_code == 200, reply.text
    owners = {m["key"]: m["owner"] for m in await Milestone.select().where(
        (Milestone.project == project["id"]) & (Milestone.state == "open"))}
    # contract_signed was the owner's (project_owner rule); the legal review stays with legal.
    assert owners["contract_signed"] == agent2.id and owners["contract_review"] == org.a.users["legal"].id
    assert agent1.id not in owners.values()
    assert [i["kind"] for i in await inbox(agent2)] == ["project_assigned"]
    moved = await ChangeLog.count().where((ChangeLog.table_name == "project_milestones")
                                          & (ChangeLog.action == "reassign"))
    assert moved >= 1


async def test_legal_rejects_a_review_with_a_comment_back_to_its_previous_owner(api):
    org = await make_org()
    _, review = await contract_review(org)
    legal, colleague = org.a.users["legal"], await make_user(org.a.branch, "legal", "A_legal2", None)
    me = await caller(api, legal)
    url = f"/api/milestones/{review['id']}/reject"
    blank = await me.post(url, json={"comment": "  ", "version": review["version"]})
    assert blank.status_code == 422 and blank.json()["field"] == "comment"
    assert (await (await caller(api, org.a.users["agent1"])).post(
        url, json={"comment": "x", "version": review["version"]})).status_code == 403
    sent = await me.post(url, json={"comment": "第5条违约金比例需修改", "version": review["version"]})
    assert sent.status_code == 200, sent.text
    back = sent.json()
    assert back["owner_id"] == str(org.a.users["agent1"].id) and back["state"] == "open"
    assert back["note"] == "第5条违约金比例需修改"
    [told] = await inbox(org.a.users["agent1"], "review_rejected")
    assert "第5条违约金比例需修改" in told["body"] and "合同审核" in told["title"]
    assert told["link"].endswith(f"#milestone-{review['id']}")
    en = (await inbox_service.list_items(actor(org.a.users["agent1"]), lang="en", kind="review_rejected")).items
    assert en[0].title == "Returned by legal: Contract reviewed by legal"
    # Handed to a colleague, rejected by them: it goes back to the specialist who had it before.
    manager = org.a.users["branch_manager"]
    current = await Milestone.select().where(Milestone.id == review["id"]).first()
    await actions.reassign_milestone(actor(manager), review["id"], legal.id, current["version"])
    current = await Milestone.select().where(Milestone.id == review["id"]).first()
    await actions.reassign_milestone(actor(manager), review["id"], colleague.id, current["version"])
    current = await Milestone.select().where(Milestone.id == review["id"]).first()
    again = await actions.reject_review(actor(colleague), review["id"], current["version"], "附件缺页")
    assert again.owner_id == legal.id
    assert [i["kind"] for i in await inbox(legal, "review_rejected")] == ["review_rejected"]
    logged = await ChangeLog.count().where((ChangeLog.action == "reject") & (ChangeLog.row_id == str(review["id"])))
    assert logged == 2
