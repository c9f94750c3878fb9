"""The seed article's example, end to end through the HTTP API: "when a real-estate project enters contract
review the legal specialist is told; untouched for 48 hours, it escalates to the supervisor"."""

import datetime as dt

import pytest

from backend.lifecycle.clock import fire_due_timers
from backend.lifecycle.tables import Milestone
from backend.projects.tables import Project
from tests.support.factories import caller, make_org
from tests.support.lifecycle import inbox

pytestmark = pytest.mark.anyio
HOUR = dt.timedelta(hours=1)


async def test_contract_review_escalates_to_supervisor_after_48h_and_stops_when_done(api):
    org = await make_org()
    agent, legal, manager = org.a.users["agent1"], org.a.users["legal"], org.a.users["branch_manager"]
    assert legal.supervisor == manager.id
    me = await caller(api, agent)
    created = await me.post("/api/projects", json={"title": "浦东三居室买卖", "business_line_id": str(org.line.id),
                                                   "contract_value": "60000.00"})
    assert created.status_code == 201, created.text
    project = created.json()
    assert project["stage_key"] == "intake" and project["template_version_id"]

    # Intake and assessment: the agent checks off the required milestones and advances.
    for _ in ("intake", "assessment"):
        view = (await me.get(f"/api/projects/{project['id']}/lifecycle")).json()
        for milestone in view["milestones"]:
            if milestone["state"] == "open" and milestone["owner_id"] == str(agent.id):
                done = await me.post(f"/api/milestones/{milestone['id']}/complete",
                                     json={"version": milestone["version"]})
                assert done.status_code == 200, done.text
        version = (await me.get(f"/api/projects/{project['id']}")).json()["version"]
        moved = await me.post(f"/api/projects/{project['id']}/advance", json={"version": version})
        assert moved.status_code == 200, moved.text
    assert moved.json()["stage_key"] == "signing"

    # Signing: "contract review" belongs to the branch's legal specialist, due in 48 hours; they are told at once.
    review = await Milestone.select().where((Milestone.project == project["id"]) & (Milestone.key == "contract_review")
                                            ).first()
    entered = (await Project.select(Project.stage_entered_at).where(Project.id == project["id"]).first())[
        "stage_entered_at"]
    assert review["owner"] == legal.id and review["due_at"] == entered + 48 * HOUR
    lawyer = await caller(api, legal)
    items = (await lawyer.get("/api/inbox")).json()
    [told] = [i for i in items["items"] if i["source_id"] == str(review["id"])]
    assert told["kind"] == "assignment" and "合同审核" in told["title"] and not told["read"]
    assert told["link"] == f"/projects/{project['id']}#milestone-{review['id']}"
    assert (await lawyer.get(f"/api/projects/{project['id']}")).status_code == 200  # the link opens
    assert (await lawyer.get("/api/inbox/unread-count")).json()["unread"] >= 1

    def escalations_about_review(items: list[dict]) -> list[dict]:
        return [i for i in items if i["kind"] == "escalation" and i["link"].endswith(str(review["id"]))]

    # Nobody acts: 47 hours in, the supervisor has heard nothing; at 48 hours the escalation arrives.
    await fire_due_timers(entered + 47 * HOUR)
    assert escalations_about_review(await inbox(manager)) == []
    await fire_due_timers(entered + 48 * HOUR)
    [alarm] = escalations_about_review(await inbox(manager))
    assert alarm["urgency"] == "high" and "合同审核" in alarm["title"]
    boss = await caller(api, manager)
    level = (await boss.get(f"/api/projects/{project['id']}/lifecycle")).json()
    assert level["escalation_level"] == 1
    assert [m["escalation_level"] for m in level["milestones"] if m["id"] == str(review["id"])] == [1]

    # The specialist completes it: no further level fires, however long the clock runs.
    current = (await lawyer.get(f"/api/milestones/{review['id']}")).json()
    done = await lawyer.post(f"/api/milestones/{review['id']}/complete", json={"version": current["version"]})
    assert done.status_code == 200, done.text
    await fire_due_timers(entered + 30 * 24 * HOUR)
    assert len(escalations_about_review(await inbox(manager))) == 1
    assert [i for i in await inbox(legal, "escalation") if i["link"].endswith(str(review["id"]))] == []
