"""The escalation clock: reminders, the ladder, recipients, crash safety, restarts. Time is injected; no sleeping."""

import asyncio
import datetime as dt
import json

import pytest

from backend import db
from backend.accounts.tables import User
from backend.app import create_litestar
from backend.audit.tables import ChangeLog
from backend.lifecycle import actions
from backend.lifecycle import clock as clock_module
from backend.lifecycle.clock import EscalationClock, fire_due_timers
from backend.lifecycle.tables import Milestone, Timer
from backend.projects.tables import Project, ProjectMember
from notifications.tables import InboxItem
from tests.support.factories import actor, make_org, make_user
from tests.support.lifecycle import inbox, new_project, timers, walk_to

pytestmark = pytest.mark.anyio
HOUR = dt.timedelta(hours=1)


async def at_contract_review(org):
    """A real-estate project of agent1 that has just entered signing; its contract review and entry time."""
    project = await new_project(org)
    await walk_to(org, project["id"], "signing")
    review = await Milestone.select().where((Milestone.project == project["id"])
                                            & (Milestone.key == "contract_review")).first()
    entered = (await Project.select(Project.stage_entered_at).where(Project.id == project["id"]).first())[
        "stage_entered_at"]
    return project, review, entered


def about(items, milestone_id):
    return [i for i in items if i["link"].endswith(f"#milestone-{milestone_id}")]


async def test_reminder_reaches_the_owner_before_the_deadline(database):
    org = await make_org()
    _, review, entered = await at_contract_review(org)
    legal = org.a.users["legal"]
    assert [(t["kind"], t["level"], t["target"], t["due_at"] - entered) for t in await timers(review["id"])] == [
        ("reminder", 0, "owner", 44 * HOUR), ("escalation", 1, "supervisor", 48 * HOUR),
        ("escalation", 2, "branch_manager", 72 * HOUR), ("escalation", 3, "role", 120 * HOUR),
        ("escalation", 4, "above_branch", 144 * HOUR)]
    await fire_due_timers(entered + 44 * HOUR - dt.timedelta(seconds=1))
    assert about(await inbox(legal, "reminder"), review["id"]) == []
    await fire_due_timers(entered + 44 * HOUR)
    [reminder] = about(await inbox(legal, "reminder"), review["id"])
    assert "合同审核" in reminder["title"] and reminder["urgency"] == "normal"
    assert about(await inbox(org.a.users["branch_manager"]), review["id"]) == []


async def test_ladder_climbs_to_supervisor_branch_manager_then_the_legal_desk(database):
    org = await make_org()
    manager, legal, executive = org.a.users["branch_manager"], org.a.users["legal"], org.executive
    colleague = await make_user(org.a.branch, "legal", "A_legal2", manager)
    # The specialist answers to the executive here, so levels 1 and 2 reach different people.
    await User.update({User.supervisor: executive.id}).where(User.id == legal.id)
    project, review, entered = await at_contract_review(org)
    await fire_due_timers(entered + 48 * HOUR)
    assert [i["title"] for i in about(await inbox(executive, "escalation"), review["id"])] == [
        "超时未办（第1级升级）：合同审核（法务）"]
    await fire_due_timers(entered + 72 * HOUR)
    assert len(about(await inbox(manager, "escalation"), review["id"])) == 1
    assert about(await inbox(colleague, "escalation"), review["id"]) == []
    await fire_due_timers(entered + 120 * HOUR)
    [desk] = about(await inbox(colleague, "escalation"), review["id"])
    assert "第3级" in desk["title"]
    assert about(await inbox(legal, "escalation"), review["id"]) == []  # the owner is not "the legal desk"
    # The colleague can open what they were sent.
    assert await ProjectMember.exists().where((ProjectMember.project == project["id"])
                                              & (ProjectMember.user == colleague.id))
    row = await Milestone.select(Milestone.escalation_level).where(Milestone.id == review["id"]).first()
    assert row["escalation_level"] == 3
    assert (await Project.select(Project.escalation_level).where(Project.id == project["id"]).first())[
        "escalation_level"] == 3
    fired = await ChangeLog.select(ChangeLog.action, ChangeLog.changes).where(
        (ChangeLog.table_name == "lifecycle_timers") & ChangeLog.row_id.is_in(
            [str(t["id"]) for t in await timers(review["id"])])).order_by(ChangeLog.seq)
    assert [f["action"] for f in fired] == ["reminder", "escalation", "escalation", "escalation"]


async def _levels_logged(table: str, row_id) -> list[tuple[int, int]]:
    rows = await ChangeLog.select(ChangeLog.changes, ChangeLog.actor_id).where(
        (ChangeLog.table_name == table) & (ChangeLog.row_id == str(row_id)) & (ChangeLog.action == "escalate")
    ).order_by(ChangeLog.seq)
    changes = [json.loads(r["changes"]) if isinstance(r["changes"], str) else r["changes"] for r in rows]
    assert all(r["actor_id"] is None for r in rows)  # the clock acts, nobody in particular
    return [(c["before"]["escalation_level"], c["after"]["escalation_level"]) for c in changes]


async def test_escalation_levels_reach_the_change_log(database):
    org = await make_org()
    project, review, entered = await at_contract_review(org)
    await fire_due_timers(entered + 48 * HOUR)
    await fire_due_timers(entered + 60 * HOUR)  # nothing new is due: nothing is logged
    await fire_due_timers(entered + 72 * HOUR)
    assert await _levels_logged("project_milestones", review["id"]) == [(0, 1), (1, 2)]
    assert await _levels_logged("projects", project["id"]) == [(0, 1), (1, 2)]


async def test_levels_due_together_are_logged_once_at_the_highest(database):
    org = await make_org()
    project, review, entered = await at_contract_review(org)
    assert await fire_due_timers(entered + 120 * HOUR) >= 4  # the reminder and three levels in one tick
    assert await _levels_logged("project_milestones", review["id"]) == [(0, 3)]
    assert await _levels_logged("projects", project["id"]) == [(0, 3)]
    assert (await Project.select(Project.escalation_level).where(Project.id == project["id"]).first())[
        "escalation_level"] == 3


@pytest.mark.parametrize("why", ["no supervisor", "supervisor disabled", "supervisor in another branch"])
async def test_escalation_falls_back_to_the_branch_manager(database, why):
    org = await make_org()
    legal, manager = org.a.users["legal"], org.a.users["branch_manager"]
    if why == "no supervisor":
        await User.update({User.supervisor: None}).where(User.id == legal.id)
    elif why == "supervisor disabled":
        boss = await make_user(org.a.branch, "branch_manager", "A_old_boss")
        await User.update({User.supervisor: boss.id}).where(User.id == legal.id)
        await User.update({User.is_active: False}).where(User.id == boss.id)
    else:
        await User.update({User.supervisor: org.b.users["branch_manager"].id}).where(User.id == legal.id)
    _, review, entered = await at_contract_review(org)
    await fire_due_timers(entered + 48 * HOUR)
    assert len(about(await inbox(manager, "escalation"), review["id"])) == 1
    assert about(await inbox(org.b.users["branch_manager"]), review["id"]) == []


async def test_completing_the_milestone_cancels_its_pending_timers(database):
    org = await make_org()
    _, review, entered = await at_contract_review(org)
    await actions.complete_milestone(actor(org.a.users["legal"]), review["id"], review["version"])
    assert {t["state"] for t in await timers(review["id"])} == {"cancelled"}
    before = await InboxItem.count()
    await fire_due_timers(entered + 1000 * HOUR)
    assert about(await InboxItem.select().where(InboxItem.created_at > entered + HOUR), review["id"]) == []
    assert await InboxItem.count() >= before


async def test_reassigning_retargets_pending_timers_to_the_new_owner(database):
    org = await make_org()
    manager, executive = org.a.users["branch_manager"], org.executive
    colleague = await make_user(org.a.branch, "legal", "A_legal2", executive)
    _, review, entered = await at_contract_review(org)
    moved = await actions.reassign_milestone(actor(manager), review["id"], colleague.id, review["version"])
    assert moved.owner_id == colleague.id
    [told] = about(await inbox(colleague, "assignment"), review["id"])
    assert "合同审核" in told["title"]
    await fire_due_timers(entered + 48 * HOUR)
    assert len(about(await inbox(colleague, "reminder"), review["id"])) == 1
    assert about(await inbox(org.a.users["legal"], "reminder"), review["id"]) == []
    # Level 1 goes to the new owner's supervisor, not the old one's.
    assert len(about(await inbox(executive, "escalation"), review["id"])) == 1
    assert about(await inbox(manager, "escalation"), review["id"]) == []


async def test_reassigning_with_a_new_deadline_restarts_the_ladder(database):
    org = await make_org()
    manager = org.a.users["branch_manager"]
    _, review, entered = await at_contract_review(org)
    await fire_due_timers(entered + 48 * HOUR)  # level 1 reached
    new_due = entered + 200 * HOUR
    current = await Milestone.select().where(Milestone.id == review["id"]).first()
    moved = await actions.reassign_milestone(actor(manager), review["id"], org.a.users["legal"].id,
                                             current["version"], due_at=new_due, at=entered + 49 * HOUR)
    assert moved.due_at == new_due and moved.escalation_level == 0
    pending = [t for t in await timers(review["id"]) if t["state"] == "pending"]
    assert [(t["kind"], t["due_at"] - new_due) for t in pending] == [
        ("reminder", -4 * HOUR), ("escalation", 0 * HOUR), ("escalation", 24 * HOUR), ("escalation", 72 * HOUR),
        ("escalation", 96 * HOUR)]
    await fire_due_timers(entered + 150 * HOUR)
    assert len(about(await inbox(manager, "escalation"), review["id"])) == 1  # only the old level 1


async def test_crash_between_claiming_and_commit_leaves_the_timer_due_and_no_inbox_item(database, monkeypatch):
    org = await make_org()
    _, review, entered = await at_contract_review(org)
    level_1 = next(t for t in await timers(review["id"]) if t["level"] == 1)
    log, items = await ChangeLog.count(), await InboxItem.count()

    async def crash(*args, **kwargs):
        raise RuntimeError("power cut after the inbox items were written")

    monkeypatch.setattr(clock_module, "raise_escalation_levels", crash)
    with pytest.raises(RuntimeError, match="power cut"):
        await fire_due_timers(entered + 48 * HOUR)
    row = await Timer.select().where(Timer.id == level_1["id"]).first()
    assert row["state"] == "pending" and row["fired_at"] is None
    assert await InboxItem.count() == items and await ChangeLog.count() == log
    assert not await InboxItem.exists().where(InboxItem.source_id == level_1["id"])
    monkeypatch.undo()
    assert await fire_due_timers(entered + 48 * HOUR) >= 1
    assert await InboxItem.count().where(InboxItem.source_id == level_1["id"]) == 1
    assert await fire_due_timers(entered + 48 * HOUR) == 0


async def fired_counts() -> dict:
    fired = await Timer.select(Timer.id).where(Timer.state == "fired")
    items = await InboxItem.select(InboxItem.source_id).where(InboxItem.source_id.is_in([t["id"] for t in fired])) \
        if fired else []
    per_timer: dict = {}
    for item in items:
        per_timer[item["source_id"]] = per_timer.get(item["source_id"], 0) + 1
    return {"fired": len(fired), "items": len(items), "per_timer": per_timer}


async def test_timers_due_during_downtime_fire_once_after_start_and_never_again(database):
    org = await make_org()
    project, _, entered = await at_contract_review(org)
    back = entered + 100 * HOUR  # the app was down from entry until now
    due = await Timer.count().where((Timer.state == "pending") & (Timer.due_at <= back))
    later = await Timer.count().where((Timer.state == "pending") & (Timer.due_at > back))
    assert due >= 5 and later >= 1
    for restart in range(2):
        clock = EscalationClock(now=lambda: back, interval=3600, batch=4)
        app = create_litestar(database, run_migrations=False, engine=db.current_engine(), clock=clock)
        async with app.lifespan():
            await asyncio.wait_for(clock.wait_for_pass(), timeout=60)
        counts = await fired_counts()
        assert counts["fired"] == due, restart
        assert set(counts["per_timer"].values()) == {1} and len(counts["per_timer"]) == due
        assert clock.fired == (due if restart == 0 else 0)
    assert await Timer.count().where(Timer.state == "pending") == later
    assert (await Project.select(Project.escalation_level).where(Project.id == project["id"]).first())[
        "escalation_level"] == 2


async def test_one_failing_timer_does_not_hold_up_the_others(database, monkeypatch, caplog):
    org = await make_org()
    _, review, entered = await at_contract_review(org)
    poison = next(t for t in await timers(review["id"]) if t["level"] == 1)["id"]
    real = clock_module._announce

    def announce(timer, *args):
        if timer["id"] == poison:
            raise ValueError("a row the code cannot handle")
        return real(timer, *args)

    monkeypatch.setattr(clock_module, "_announce", announce)
    clock = EscalationClock(now=lambda: entered + 100 * HOUR)
    first = await clock.run_once()
    assert first >= 4
    assert (await Timer.select(Timer.state).where(Timer.id == poison).first())["state"] == "pending"
    await clock.run_once()
    await clock.run_once()
    assert (await Timer.select(Timer.state).where(Timer.id == poison).first())["state"] == "failed"
    assert await ChangeLog.exists().where((ChangeLog.action == "timer_failed") & (ChangeLog.row_id == str(poison)))
    assert await Timer.count().where((Timer.state == "pending") & (Timer.due_at <= entered + 100 * HOUR)) == 0


async def test_the_clock_knows_when_it_must_next_wake(database):
    org = await make_org()
    assert await clock_module.next_due() is None
    await at_contract_review(org)
    earliest = min(t["due_at"] for t in await Timer.select(Timer.due_at).where(Timer.state == "pending"))
    assert await clock_module.next_due() == earliest and earliest.tzinfo is not None


async def test_a_deadline_long_missed_climbs_above_the_branch_to_the_executive(database):
    """USERS.md: "a missed deadline escalates to the supervisor, then higher" — the executive is told last."""
    org = await make_org()
    executive = org.executive
    _, review, entered = await at_contract_review(org)
    await fire_due_timers(entered + 120 * HOUR)
    assert about(await inbox(executive, "escalation"), review["id"]) == []
    await fire_due_timers(entered + 144 * HOUR)
    [told] = about(await inbox(executive, "escalation"), review["id"])
    assert "第4级" in told["title"] and told["urgency"] == "high"
    assert about(await inbox(org.b.users["branch_manager"], "escalation"), review["id"]) == []
