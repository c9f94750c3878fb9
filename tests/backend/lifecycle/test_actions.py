"""Rollup changes made by milestone actions (the project's earliest deadline and highest escalation level) are in
the change log, with who caused them."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from backend.audit.tables import ChangeLog
from backend.lifecycle import actions
from backend.lifecycle.clock import fire_due_timers
from backend.lifecycle.tables import Milestone
from backend.projects.tables import Project
from tests.support.factories import actor, make_org
from tests.support.lifecycle import new_project, walk_to

pytestmark = pytest.mark.anyio
HOUR = dt.timedelta(hours=1)


async def _rollups(project_id) -> list[dict]:
    rows = await ChangeLog.select(ChangeLog.changes, ChangeLog.actor_id).where(
        (ChangeLog.table_name == "projects") & (ChangeLog.row_id == str(project_id)) & (ChangeLog.action == "rollup")
    ).order_by(ChangeLog.seq)
    return [{"actor_id": r["actor_id"], **(json.loads(r["changes"]) if isinstance(r["changes"], str)
                                           else r["changes"])} for r in rows]


async def _project(project_id) -> dict:
    return await Project.select(Project.next_due_at, Project.escalation_level).where(Project.id == project_id).first()


async def test_project_creation_logs_its_first_deadline(database):
    org = await make_org()
    project = await new_project(org)
    [first] = await _rollups(project["id"])
    assert first["actor_id"] == org.a.users["agent1"].id and first["before"] == {"next_due_at": None}
    assert first["after"]["next_due_at"] == (await _project(project["id"]))["next_due_at"].isoformat()


async def test_completing_the_earliest_milestone_logs_the_new_deadline(database):
    org = await make_org()
    project = await new_project(org)
    earliest = await Milestone.select().where((Milestone.project == project["id"]) & (Milestone.state == "open")
                                              ).order_by(Milestone.due_at).first()
    before = (await _project(project["id"]))["next_due_at"]
    await actions.complete_milestone(actor(org.a.users["agent1"]), earliest["id"], earliest["version"])
    after = (await _project(project["id"]))["next_due_at"]
    assert after != before
    latest = (await _rollups(project["id"]))[-1]
    assert latest["actor_id"] == org.a.users["agent1"].id
    assert latest["before"] == {"next_due_at": before.isoformat()}
    assert latest["after"] == {"next_due_at": after.isoformat() if after else None}


async def test_a_new_deadline_after_escalation_logs_the_level_going_back(database):
    org = await make_org()
    project = await new_project(org)
    await walk_to(org, project["id"], "signing")
    review = await Milestone.select().where((Milestone.project == project["id"])
                                            & (Milestone.key == "contract_review")).first()
    await fire_due_timers(review["due_at"] + HOUR)
    assert (await _project(project["id"]))["escalation_level"] == 1
    review = await Milestone.select().where(Milestone.id == review["id"]).first()
    manager = org.a.users["branch_manager"]
    new_due = dt.datetime.now(dt.UTC) + 400 * HOUR
    count = len(await _rollups(project["id"]))
    await actions.reassign_milestone(actor(manager), review["id"], review["owner"], review["version"], due_at=new_due)
    [latest] = (await _rollups(project["id"]))[count:]
    assert latest["actor_id"] == manager.id
    assert (latest["before"]["escalation_level"], latest["after"]["escalation_level"]) == (1, 0)


async def test_an_action_that_moves_no_figure_logs_no_rollup(database):
    org = await make_org()
    project = await new_project(org)
    latest = await Milestone.select().where((Milestone.project == project["id"]) & (Milestone.state == "open")
                                            ).order_by(Milestone.due_at, ascending=False).first()
    count = len(await _rollups(project["id"]))
    await actions.reassign_milestone(actor(org.a.users["branch_manager"]), latest["id"], org.a.users["agent2"].id,
                                     latest["version"])
    assert len(await _rollups(project["id"])) == count
