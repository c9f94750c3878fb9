"""Lifecycle templates: seeded per business line, versioned on every edit, validated, admin-only, and a running
project keeps the version it started with."""

import copy
import datetime as dt

import msgspec
import pytest

from backend.lifecycle.seeds import seed_for
from backend.lifecycle.tables import Milestone, Timer
from backend.projects.tables import BusinessLine, Project
from tests.support.factories import caller, make_org
from tests.support.lifecycle import new_project, walk_to

pytestmark = pytest.mark.anyio
STAGES = ["intake", "assessment", "signing", "execution", "collection", "review"]


def seed_json(key: str) -> dict:
    return msgspec.to_builtins(seed_for(key))


async def test_three_seeded_lifecycles_with_bilingual_milestones(api):
    org = await make_org()
    agent = await caller(api, org.a.users["agent1"])
    lines = {"real_estate": org.line.id}
    for key, zh, en in (("legal_case", "法律案件", "Legal case"), ("recruitment", "招聘安置", "Recruitment placement")):
        line = BusinessLine(key=key, name_zh=zh, name_en=en)
        await BusinessLine.insert(line)
        lines[key] = line.id
    expected = {"real_estate": "contract_review", "legal_case": "engagement_review", "recruitment": "offer_review"}
    for key, line_id in lines.items():
        reply = await agent.get(f"/api/business-lines/{line_id}/template")
        assert reply.status_code == 200, reply.text
        template = reply.json()
        assert template["number"] == 1 and template["note"] == "seeded"
        stages = template["definition"]["stages"]
        assert [s["key"] for s in stages] == STAGES
        assert [s["name_zh"] for s in stages] == ["获客", "评估", "签约", "执行", "回款", "复盘"]
        signing = stages[2]
        review = next(m for m in signing["milestones"] if m["key"] == expected[key])
        assert review["owner"] == "legal" and "法务" in review["title_zh"] and "legal" in review["title_en"]
        assert expected[key] in signing["requires"]
        assert [s["escalation"][0] for s in stages] == [{"after_hours": 0, "to": "supervisor"}] * 6
        collection = stages[4]
        assert [m["auto"] for m in collection["milestones"] if m.get("auto")] == ["full_collection"]
        assert all(m["title_zh"] and m["title_en"] for s in stages for m in s["milestones"])


async def test_editing_creates_a_new_version_and_needs_the_current_one(api):
    org = await make_org()
    admin = await caller(api, org.admin)
    url = f"/api/business-lines/{org.line.id}/template"
    current = (await admin.get(url)).json()
    definition = copy.deepcopy(current["definition"])
    definition["stages"][2]["sla_hours"] = 24
    saved = await admin.request("PUT", url, json={"definition": definition, "based_on": 1, "note": "签约提速"})
    assert saved.status_code == 200, saved.text
    assert saved.json()["number"] == 2 and saved.json()["created_by_id"] == str(org.admin.id)
    stale = await admin.request("PUT", url, json={"definition": definition, "based_on": 1})
    assert stale.status_code == 409 and stale.json()["field"] == "based_on"
    assert stale.json()["current"]["number"] == 2
    versions = (await admin.get(f"{url}/versions")).json()
    assert [v["number"] for v in versions] == [2, 1] and versions[0]["note"] == "签约提速"
    first = await admin.get(f"/api/template-versions/{versions[1]['id']}")
    assert first.json()["definition"]["stages"][2]["sla_hours"] == 72
    manager = await caller(api, org.a.users["branch_manager"])
    denied = await manager.request("PUT", url, json={"definition": definition, "based_on": 2})
    assert denied.status_code == 403
    assert (await manager.get(f"/api/template-versions/{versions[0]['id']}")).status_code == 200


@pytest.mark.parametrize(("change", "status", "field"), [
    (lambda d: d["stages"][2]["requires"].append("no_such_milestone"), 422, "definition.stages[2].requires[2]"),
    (lambda d: d["stages"][1]["requires"].append("contract_review"), 422, "definition.stages[1].requires[2]"),
    (lambda d: d["stages"][3].update(key="signing"), 422, "definition.stages[3].key"),
    (lambda d: d["stages"][0]["milestones"][1].update(key="needs_recorded"), 422,
     "definition.stages[0].milestones[1].key"),
    (lambda d: d["stages"][0]["escalation"].append({"after_hours": 999, "to": "role"}), 422,
     "definition.stages[0].escalation[3].role"),
    (lambda d: d["stages"][0]["escalation"].append({"after_hours": 1, "to": "branch_manager"}), 422,
     "definition.stages[0].escalation[3].after_hours"),
    (lambda d: d["stages"][0]["escalation"].append({"after_hours": 99, "to": "user",
                                                    "user_id": "00000000-0000-0000-0000-000000000001"}), 404,
     "definition.stages[0].escalation[3].user_id"),
    (lambda d: d.update(stages=[]), 422, "definition.stages"),
    (lambda d: d["stages"][0].update(sla_hours=0), 422, "definition.stages[0].sla_hours"),
    (lambda d: d["stages"][0].update(owner="cleaner"), 422, "definition.stages[0].owner"),
])
async def test_invalid_templates_are_refused_naming_the_field(api, change, status, field):
    org = await make_org()
    admin = await caller(api, org.admin)
    assert (await admin.get(f"/api/business-lines/{org.line.id}/template")).json()["number"] == 1
    definition = seed_json("real_estate")
    change(definition)
    reply = await admin.request("PUT", f"/api/business-lines/{org.line.id}/template",
                                json={"definition": definition, "based_on": 1})
    assert reply.status_code == status, reply.text
    assert reply.json()["field"] == field
    versions = (await admin.get(f"/api/business-lines/{org.line.id}/template/versions")).json()
    assert [v["number"] for v in versions] == [1]


async def test_escalation_to_a_named_user_must_be_someone_who_works_on_projects(api):
    org = await make_org()
    admin = await caller(api, org.admin)
    definition = seed_json("real_estate")
    definition["stages"][2]["escalation"].append({"after_hours": 200, "to": "user", "user_id": str(org.admin.id)})
    reply = await admin.request("PUT", f"/api/business-lines/{org.line.id}/template",
                                json={"definition": definition, "based_on": 1})
    assert reply.status_code == 422 and reply.json()["field"] == "definition.stages[2].escalation[4].user_id"
    definition["stages"][2]["escalation"][4]["user_id"] = str(org.executive.id)
    reply = await admin.request("PUT", f"/api/business-lines/{org.line.id}/template",
                                json={"definition": definition, "based_on": 1})
    assert reply.status_code == 200, reply.text


async def test_running_projects_keep_their_version_stages_and_timers(api):
    org = await make_org()
    old = await new_project(org)
    await walk_to(org, old["id"], "signing")
    before = await Timer.select(Timer.id, Timer.due_at, Timer.state).where(Timer.project == old["id"]).order_by(
        Timer.id)
    admin = await caller(api, org.admin)
    definition = seed_json("real_estate")
    definition["stages"][2]["milestones"][0]["sla_hours"] = 24  # contract review within a day
    definition["stages"][3]["milestones"].append({"key": "notarised", "title_zh": "公证完成", "title_en": "Notarised"})
    saved = await admin.request("PUT", f"/api/business-lines/{org.line.id}/template",
                                json={"definition": definition, "based_on": 1})
    assert saved.status_code == 200, saved.text

    assert await Timer.select(Timer.id, Timer.due_at, Timer.state).where(Timer.project == old["id"]).order_by(
        Timer.id) == before
    await walk_to(org, old["id"], "execution")
    keys = {m["key"] for m in await Milestone.select(Milestone.key).where(
        (Milestone.project == old["id"]) & (Milestone.stage_key == "execution"))}
    assert keys == {"loan_approved", "title_transferred", "handover"}  # version 1's execution

    new = await new_project(org, title="陆家嘴公寓买卖")
    assert str(new["template_version_id"]) == saved.json()["id"]
    await walk_to(org, new["id"], "signing")
    review = await Milestone.select().where((Milestone.project == new["id"]) & (Milestone.key == "contract_review")
                                            ).first()
    entered = (await Project.select(Project.stage_entered_at).where(Project.id == new["id"]).first())[
        "stage_entered_at"]
    assert review["due_at"] - entered == dt.timedelta(hours=24)
    await walk_to(org, new["id"], "execution")
    assert await Milestone.exists().where((Milestone.project == new["id"]) & (Milestone.key == "notarised"))


async def test_reading_a_template_stores_nothing_and_the_first_write_stores_what_was_read(api):
    """A line without stored versions shows its seed as version 1; the first project stores exactly that version
    (same id, number, definition and time), so a read never writes and never disagrees with what comes later."""
    from backend.audit.tables import ChangeLog
    from backend.projects.tables import TemplateVersion

    org = await make_org()
    agent = await caller(api, org.a.users["agent1"])
    url = f"/api/business-lines/{org.line.id}/template"
    logged = await ChangeLog.count()
    shown = (await agent.get(url)).json()
    assert (await agent.get(f"{url}/versions")).json() == [{k: v for k, v in shown.items() if k != "definition"}]
    assert (await agent.get(f"/api/template-versions/{shown['id']}")).json() == shown
    assert await TemplateVersion.count() == 0 and await ChangeLog.count() == logged
    project = await new_project(org)
    assert str(project["template_version_id"]) == shown["id"]
    assert (await agent.get(url)).json() == shown
    assert await TemplateVersion.count() == 1
