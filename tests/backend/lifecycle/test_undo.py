"""Undo on the lifecycle: a milestone checked off by mistake opens again within its stage; a payment recorded
wrongly is corrected or voided, with the total and the full-collection milestone following."""

import datetime as dt
import decimal

import pytest

from backend.audit.tables import ChangeLog
from backend.errors import Conflict, Forbidden, Invalid, NotFound
from backend.lifecycle import actions, collections
from backend.lifecycle.tables import Collection, Milestone, Timer
from backend.projects.tables import Project
from tests.support.factories import actor
from tests.support.lifecycle import advance, check_off, new_project, open_milestones, walk_to

pytestmark = pytest.mark.anyio
YESTERDAY = dt.date.today() - dt.timedelta(days=1)


def _changes(row):
    return row["changes"] if isinstance(row["changes"], dict) else __import__("json").loads(row["changes"])


async def test_a_done_milestone_reopens_within_its_stage_with_its_timers(org):
    project = await new_project(org)
    first = (await open_milestones(project["id"]))[0]
    owner = actor(org.a.users["agent1"])
    done = await actions.complete_milestone(owner, first["id"], first["version"])
    assert not await Timer.exists().where((Timer.milestone == first["id"]) & (Timer.state == "pending"))
    with pytest.raises(Invalid) as no_reason:
        await actions.reopen_milestone(owner, first["id"], done.version, "")
    assert no_reason.value.field == "reason"
    with pytest.raises(NotFound):
        await actions.reopen_milestone(actor(org.b.users["branch_manager"]), first["id"], done.version, "x")
    reopened = await actions.reopen_milestone(owner, first["id"], done.version, "客户资料还没给全")
    assert (reopened.state, reopened.done_at, reopened.done_by_id) == ("open", None, None)
    assert await Timer.exists().where((Timer.milestone == first["id"]) & (Timer.state == "pending"))
    log = await ChangeLog.select().where((ChangeLog.action == "reopen") & (ChangeLog.row_id == str(first["id"]))
                                         ).first()
    assert _changes(log)["reason"] == "客户资料还没给全"
    with pytest.raises(Conflict):  # it is open now
        await actions.reopen_milestone(owner, first["id"], reopened.version, "again")


async def test_a_milestone_of_a_stage_already_left_stays_done(org):
    project = await new_project(org)
    first = (await open_milestones(project["id"]))[0]
    await check_off(org, project["id"])
    await advance(org, project["id"])
    row = await Milestone.select().where(Milestone.id == first["id"]).first()
    with pytest.raises(Conflict) as refused:
        await actions.reopen_milestone(actor(org.a.users["agent1"]), first["id"], row["version"], "mistake")
    assert refused.value.field == "stage_key"


async def _in_collection(org, value="100000.00"):
    project = await new_project(org, contract_value=decimal.Decimal(value))
    await walk_to(org, project["id"], "collection")
    return project


async def _pay(org, project, amount):
    return await collections.record_collection(actor(org.a.users["finance"]), project["id"],
                                               amount=decimal.Decimal(amount), received_on=YESTERDAY)


async def _auto(project):
    return await Milestone.select().where((Milestone.project == project["id"])
                                          & (Milestone.auto == "full_collection")).first()


async def test_correcting_a_payment_recounts_and_the_collection_milestone_follows(org):
    project = await _in_collection(org)
    finance = actor(org.a.users["finance"])
    await _pay(org, project, "30000.00")
    second = await _pay(org, project, "70000.00")
    assert (await _auto(project))["state"] == "done"
    with pytest.raises(Invalid) as above:
        await collections.correct_collection(finance, second.collection.id, 1, amount=decimal.Decimal("70000.01"),
                                             reason="typo")
    assert above.value.field == "amount" and above.value.message == "above the outstanding ¥70,000"
    with pytest.raises(Invalid) as why:
        await collections.correct_collection(finance, second.collection.id, 1, amount=decimal.Decimal("7000"),
                                             reason=" ")
    assert why.value.field == "reason"
    for bad in ("-1", "0"):
        with pytest.raises(Invalid) as negative:
            await collections.correct_collection(finance, second.collection.id, 1, amount=decimal.Decimal(bad),
                                                 reason="typo")
        assert negative.value.field == "amount"
    fixed = await collections.correct_collection(finance, second.collection.id, 1, amount=decimal.Decimal("7000.00"),
                                                 reason="多打了一个零")
    assert fixed.collection.amount == decimal.Decimal("7000.00") and fixed.collection.reason == "多打了一个零"
    assert fixed.project.collected_amount == decimal.Decimal("37000.00")
    assert (await _auto(project))["state"] == "open"
    assert fixed.changed_milestone_ids == [(await _auto(project))["id"]]
    back = await collections.correct_collection(finance, second.collection.id, fixed.collection.version,
                                                amount=decimal.Decimal("70000.00"), reason="其实是对的")
    assert back.project.collected_amount == decimal.Decimal("100000.00")
    assert (await _auto(project))["state"] == "done"
    log = await ChangeLog.select().where(ChangeLog.action == "correct").order_by(ChangeLog.seq).first()
    assert decimal.Decimal(_changes(log)["before"]["amount"]) == 70000 and _changes(log)["reason"] == "多打了一个零"


async def test_a_voided_payment_counts_for_nothing_and_stays_on_record(org):
    project = await _in_collection(org, "1000.00")
    finance = actor(org.a.users["finance"])
    paid = await _pay(org, project, "1000.00")
    voided = await collections.void_collection(finance, paid.collection.id, 1, "重复登记")
    assert voided.collection.voided_at is not None and voided.collection.voided_by_id == finance.id
    assert voided.project.collected_amount == decimal.Decimal("0.00")
    assert (await _auto(project))["state"] == "open"
    listed = await collections.list_collections(finance, project["id"])
    assert [c.voided_at is not None for c in listed] == [True]
    with pytest.raises(Conflict):
        await collections.void_collection(finance, paid.collection.id, voided.collection.version, "again")
    again = await _pay(org, project, "1000.00")  # the voided amount no longer blocks a new payment
    assert again.project.collected_amount == decimal.Decimal("1000.00")
    assert (await Project.select(Project.collected_amount).where(Project.id == project["id"]).first())
    assert await Collection.count().where(Collection.project == project["id"]) == 2


@pytest.mark.parametrize(("who", "allowed"), [("a.finance", True), ("a.branch_manager", True), ("a.agent1", False),
                                              ("a.legal", False), ("b.finance", False), ("executive", False)])
async def test_who_corrects_a_payment(org, who, allowed):
    project = await _in_collection(org, "1000.00")
    paid = await _pay(org, project, "500.00")
    me = actor(org.all_users()[who])
    if allowed:
        fixed = await collections.void_collection(me, paid.collection.id, 1, "mistake")
        assert fixed.project.collected_amount == decimal.Decimal("0.00")
    else:
        with pytest.raises((Forbidden, NotFound)):
            await collections.void_collection(me, paid.collection.id, 1, "mistake")


async def test_a_closed_project_reopens_in_the_stage_it_closed_from(org):
    from backend.lifecycle import stages
    from backend.lifecycle.tables import StageEntry

    project = await new_project(org)
    agent = actor(org.a.users["agent1"])
    lost = await stages.transition(agent, project["id"], project["version"], "lost", note="客户放弃")
    assert lost.status == "lost" and await open_milestones(project["id"]) == []
    with pytest.raises(Invalid) as why:
        await stages.reopen(agent, project["id"], lost.version, "")
    assert why.value.field == "reason"
    with pytest.raises(NotFound):
        await stages.reopen(actor(org.a.users["agent2"]), project["id"], lost.version, "x")
    reopened = await stages.reopen(agent, project["id"], lost.version, "客户回来了")
    assert (reopened.status, reopened.stage_key, reopened.closed_at) == ("open", "intake", None)
    assert len(await open_milestones(project["id"])) > 0
    assert await StageEntry.count().where(StageEntry.project == project["id"]) == 2
    with pytest.raises(Conflict):
        await stages.reopen(agent, project["id"], reopened.version, "again")
