"""The lifecycle's mutating routes for tests/backend/test_audit.py: who calls each, how, and how many change-log
rows the call itself writes (setup runs `unlogged`)."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

import msgspec

from backend import db
from backend.lifecycle import calendars, templates
from backend.lifecycle.tables import Milestone
from backend.lifecycle.workhours import CalendarDef
from backend.projects.tables import Project
from notifications import Notice, notify
from notifications.tables import InboxItem
from tests.support.factories import actor
from tests.support.lifecycle import check_off, new_project, unlogged, walk_to

YESTERDAY = (dt.date.today() - dt.timedelta(days=1)).isoformat()


async def _project(org: Any, stage: str = "intake", **values: Any) -> dict:
    project = await unlogged(new_project(org, **values))
    if stage != "intake":
        await unlogged(walk_to(org, project["id"], stage))
    return project


async def _version(project: dict) -> int:
    return (await Project.select(Project.version).where(Project.id == project["id"]).first())["version"]


async def _first_milestone(project: dict) -> dict:
    return (await Milestone.select().where((Milestone.project == project["id"]) & (Milestone.state == "open"))
            .order_by(Milestone.position))[0]


async def advance(org: Any, me: Any, api: Any) -> Any:
    project = await _project(org)
    await unlogged(check_off(org, project["id"]))
    return await me.post(f"/api/projects/{project['id']}/advance", json={"version": await _version(project)})


async def send_back(org: Any, me: Any, api: Any) -> Any:
    project = await _project(org, "assessment")
    return await me.post(f"/api/projects/{project['id']}/send-back",
                         json={"version": await _version(project), "to_stage": "intake", "reason": "资料不全"})


async def close(org: Any, me: Any, api: Any) -> Any:
    project = await _project(org)
    return await me.post(f"/api/projects/{project['id']}/close",
                         json={"version": await _version(project), "outcome": "lost", "reason": "客户放弃"})


async def reopen_project(org: Any, me: Any, api: Any) -> Any:
    project = await _project(org)
    await unlogged(me.post(f"/api/projects/{project['id']}/close",
                           json={"version": await _version(project), "outcome": "lost", "reason": "客户放弃"}))
    return await me.post(f"/api/projects/{project['id']}/reopen",
                         json={"version": await _version(project), "reason": "客户回来了"})


async def nudge_project(org: Any, me: Any, api: Any) -> Any:
    project = await _project(org)
    return await me.post(f"/api/projects/{project['id']}/nudge", json={"message": "请本周推进"})


async def collect(org: Any, me: Any, api: Any) -> Any:
    project = await _project(org, "signing", contract_value=decimal.Decimal("1000.00"))
    return await me.post(f"/api/projects/{project['id']}/collections",
                         json={"amount": "300.00", "received_on": YESTERDAY})


async def _payment(org: Any) -> dict:
    from backend.lifecycle.collections import record_collection
    from backend.lifecycle.tables import Collection

    project = await _project(org, "signing", contract_value=decimal.Decimal("1000.00"))
    await unlogged(_record(org, project, record_collection))
    return (await Collection.select().where(Collection.project == project["id"]))[0]


async def _record(org: Any, project: dict, record: Any) -> None:
    await record(actor(org.a.users["finance"]), project["id"], amount=decimal.Decimal("300.00"),
                 received_on=dt.date.today() - dt.timedelta(days=1))


async def correct(org: Any, me: Any, api: Any) -> Any:
    payment = await _payment(org)
    return await me.post(f"/api/collections/{payment['id']}/correct",
                         json={"version": payment["version"], "amount": "250.00", "reason": "录错金额"})


async def void(org: Any, me: Any, api: Any) -> Any:
    payment = await _payment(org)
    return await me.post(f"/api/collections/{payment['id']}/void",
                         json={"version": payment["version"], "reason": "重复登记"})


async def reopen_milestone(org: Any, me: Any, api: Any) -> Any:
    milestone = await _first_milestone(await _project(org))
    await unlogged(check_off(org, milestone["project"], [milestone["key"]]))
    version = (await Milestone.select(Milestone.version).where(Milestone.id == milestone["id"]).first())["version"]
    return await me.post(f"/api/milestones/{milestone['id']}/reopen", json={"version": version, "reason": "点错了"})


async def complete(org: Any, me: Any, api: Any) -> Any:
    milestone = await _first_milestone(await _project(org))
    return await me.post(f"/api/milestones/{milestone['id']}/complete", json={"version": milestone["version"]})


async def reassign(org: Any, me: Any, api: Any) -> Any:
    milestone = await _first_milestone(await _project(org))
    return await me.post(f"/api/milestones/{milestone['id']}/reassign",
                         json={"owner_id": str(org.a.users["agent2"].id), "version": milestone["version"]})


async def nudge_milestone(org: Any, me: Any, api: Any) -> Any:
    milestone = await _first_milestone(await _project(org))
    return await me.post(f"/api/milestones/{milestone['id']}/nudge", json={"message": "客户在等"})


async def reject(org: Any, me: Any, api: Any) -> Any:
    project = await _project(org, "signing")
    review = await Milestone.select().where((Milestone.project == project["id"])
                                            & (Milestone.key == "contract_review")).first()
    return await me.post(f"/api/milestones/{review['id']}/reject",
                         json={"comment": "第5条违约金条款需修改", "version": review["version"]})


async def _stored_template(line_id: Any) -> None:
    async with db.write_transaction():
        await templates.ensure_template(line_id)


async def save_template(org: Any, me: Any, api: Any) -> Any:
    await unlogged(_stored_template(org.line.id))  # a read no longer stores the seed; the save would log it too
    current = await templates.read_current(actor(org.admin), org.line.id)
    return await me.request("PUT", f"/api/business-lines/{org.line.id}/template",
                            json={"definition": msgspec.to_builtins(current.definition), "based_on": 1})


async def save_calendar(org: Any, me: Any, api: Any) -> Any:
    return await me.request("PUT", f"/api/branches/{org.a.branch.id}/calendar", json={"working_days": [1, 2, 3, 4, 5]})


async def delete_calendar(org: Any, me: Any, api: Any) -> Any:
    await unlogged(calendars.save_calendar(actor(org.admin), org.a.branch.id, CalendarDef(), None))
    return await me.delete(f"/api/branches/{org.a.branch.id}/calendar")


async def _items(user: Any, count: int) -> None:
    async with db.write_transaction():
        await notify([Notice(user_id=user.id, kind="reminder", title=f"提醒 {i}") for i in range(count)])


async def read_one(org: Any, me: Any, api: Any) -> Any:
    await _items(org.a.users["agent1"], 1)
    item = await InboxItem.select(InboxItem.id).first()
    return await me.post(f"/api/inbox/{item['id']}/read")


async def read_all(org: Any, me: Any, api: Any) -> Any:
    await _items(org.a.users["agent1"], 2)
    return await me.post("/api/inbox/read-all", json={})


P = "/api/projects/{record_id:uuid}"
M = "/api/milestones/{milestone_id:uuid}"
MUTATIONS = {
    # The project; the stage it leaves; the new stage and its three milestones.
    ("POST", f"{P}/advance"): ("a.agent1", advance, 6),
    # The project; assessment left with its three open milestones cancelled; intake again with two milestones.
    ("POST", f"{P}/send-back"): ("a.agent1", send_back, 8),
    ("POST", f"{P}/close"): ("a.agent1", close, 4),  # the project; intake left; its two milestones cancelled
    ("POST", f"{P}/nudge"): ("a.branch_manager", nudge_project, 1),
    ("POST", f"{P}/reopen"): ("a.agent1", reopen_project, 4),  # the project; intake again with two milestones
    ("POST", f"{P}/collections"): ("a.finance", collect, 2),  # the payment and the project's collected total
    ("POST", f"{M}/complete"): ("a.agent1", complete, 2),  # the milestone; the project's earliest deadline
    ("POST", f"{M}/reopen"): ("a.agent1", reopen_milestone, 2),  # the milestone; the project's earliest deadline
    ("POST", "/api/collections/{collection_id:uuid}/correct"): ("a.finance", correct, 2),  # payment; total
    ("POST", "/api/collections/{collection_id:uuid}/void"): ("a.finance", void, 2),
    ("POST", f"{M}/reassign"): ("a.branch_manager", reassign, 2),  # the milestone; the new owner joins the team
    ("POST", f"{M}/nudge"): ("a.branch_manager", nudge_milestone, 1),
    ("POST", f"{M}/reject"): ("a.legal", reject, 1),  # the review, back with its previous owner
    ("PUT", "/api/business-lines/{record_id:uuid}/template"): ("admin", save_template, 1),
    ("PUT", "/api/branches/{record_id:uuid}/calendar"): ("admin", save_calendar, 1),
    ("DELETE", "/api/branches/{record_id:uuid}/calendar"): ("admin", delete_calendar, 1),
    ("POST", "/api/inbox/{item_id:uuid}/read"): ("a.agent1", read_one, 1),
    ("POST", "/api/inbox/read-all"): ("a.agent1", read_all, 2),
}
