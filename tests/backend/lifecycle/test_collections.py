"""Collections (回款): finance records payments, the total follows, the collection milestone completes itself."""

import datetime as dt
import decimal

import pytest

from backend.audit.tables import ChangeLog
from backend.lifecycle.tables import Collection, Milestone, Timer
from backend.projects.tables import Project
from tests.support.factories import caller, make_org
from tests.support.lifecycle import advance, check_off, new_project, walk_to

pytestmark = pytest.mark.anyio
YESTERDAY = (dt.date.today() - dt.timedelta(days=1)).isoformat()


async def in_collection(org, value: str = "100000.00"):
    project = await new_project(org, contract_value=decimal.Decimal(value))
    await walk_to(org, project["id"], "collection")
    return project


async def test_payments_add_up_and_complete_the_collection_milestone(api):
    org = await make_org()
    project = await in_collection(org)
    finance = await caller(api, org.a.users["finance"])
    url = f"/api/projects/{project['id']}/collections"
    first = await finance.post(url, json={"amount": "30000.00", "received_on": YESTERDAY, "method": "wechat_pay",
                                          "note": "首期佣金"})
    assert first.status_code == 201, first.text
    assert first.json()["project"]["collected_amount"] == "30000.00"
    assert first.json()["collection"]["recorded_by_id"] == str(org.a.users["finance"].id)
    assert first.json()["completed_milestone_ids"] == []
    auto = await Milestone.select().where((Milestone.project == project["id"])
                                          & (Milestone.key == "commission_collected")).first()
    assert auto["state"] == "open"
    second = await finance.post(url, json={"amount": "70000.00", "received_on": YESTERDAY})
    assert second.status_code == 201, second.text
    assert second.json()["project"]["collected_amount"] == "100000.00"
    assert second.json()["completed_milestone_ids"] == [str(auto["id"])]
    done = await Milestone.select().where(Milestone.id == auto["id"]).first()
    assert done["state"] == "done" and done["done_by"] is None
    assert not await Timer.exists().where((Timer.milestone == auto["id"]) & (Timer.state == "pending"))
    assert await ChangeLog.exists().where((ChangeLog.action == "auto_complete") & (ChangeLog.row_id == str(auto["id"])))
    listed = (await finance.get(url)).json()
    assert [c["amount"] for c in listed] == ["30000.00", "70000.00"]
    assert [c["method"] for c in listed] == ["wechat_pay", "bank_transfer"]
    # The guard of the collection stage is now met once the invoice is checked off.
    await check_off(org, project["id"])
    assert (await advance(org, project["id"])).stage_key == "review"


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"amount": "100000.01"}, 422, "amount"),  # more than the contract value
    ({"amount": "-5.00"}, 422, "amount"),
    ({"amount": "0"}, 422, "amount"),
    ({"amount": "10.005"}, 422, "amount"),
    ({"amount": "1e20"}, 422, "amount"),
    ({"amount": "10.00", "received_on": (dt.date.today() + dt.timedelta(days=2)).isoformat()}, 422, "received_on"),
    ({"amount": "10.00", "method": "barter"}, 422, "method"),
    ({"amount": "abc"}, 422, "amount"),
])
async def test_bad_payments_are_refused_and_change_nothing(api, body, status, field):
    org = await make_org()
    project = await in_collection(org)
    finance = await caller(api, org.a.users["finance"])
    url = f"/api/projects/{project['id']}/collections"
    assert (await finance.post(url, json={"amount": "60000.00", "received_on": YESTERDAY})).status_code == 201
    before = await Project.select().where(Project.id == project["id"]).first()
    reply = await finance.post(url, json={"received_on": YESTERDAY, **body})
    assert reply.status_code == status, reply.text
    assert reply.json()["field"] == field
    assert await Project.select().where(Project.id == project["id"]).first() == before
    assert await Collection.count().where(Collection.project == project["id"]) == 1


async def test_overpayment_message_says_what_is_still_due(api):
    org = await make_org()
    project = await in_collection(org, "1000.00")
    finance = await caller(api, org.a.users["finance"])
    url = f"/api/projects/{project['id']}/collections"
    await finance.post(url, json={"amount": "999.99", "received_on": YESTERDAY})
    reply = await finance.post(url, json={"amount": "0.02", "received_on": YESTERDAY})
    assert reply.status_code == 422 and reply.json()["still_due"] == "0.01"
    assert (await finance.post(url, json={"amount": "0.01", "received_on": YESTERDAY})).status_code == 201


@pytest.mark.parametrize(("who", "read", "write"), [
    ("a.finance", 200, 201), ("a.branch_manager", 200, 201), ("a.agent1", 200, 403), ("a.legal", 403, 403),
    ("executive", 200, 403),
    ("b.finance", 404, 404), ("a.agent2", 404, 404), ("admin", 404, 404),  # invisible: 404 whatever is sent
])
async def test_who_sees_and_records_payments(api, who, read, write):
    org = await make_org()
    project = await in_collection(org)
    me = await caller(api, org.all_users()[who])
    url = f"/api/projects/{project['id']}/collections"
    assert (await me.get(url)).status_code == read
    reply = await me.post(url, json={"amount": "100.00", "received_on": YESTERDAY})
    assert reply.status_code == write, reply.text


async def test_deposit_before_the_collection_stage_counts_and_a_fully_paid_project_arrives_done(api):
    org = await make_org()
    project = await new_project(org, contract_value=decimal.Decimal("5000.00"))
    await walk_to(org, project["id"], "signing")  # finance owns "deposit received": they now take part
    finance = await caller(api, org.a.users["finance"])
    reply = await finance.post(f"/api/projects/{project['id']}/collections",
                               json={"amount": "5000.00", "received_on": YESTERDAY, "method": "bank_transfer"})
    assert reply.status_code == 201, reply.text
    assert reply.json()["completed_milestone_ids"] == []  # the collection milestone does not exist yet
    await walk_to(org, project["id"], "collection")
    auto = await Milestone.select().where((Milestone.project == project["id"])
                                          & (Milestone.key == "commission_collected")).first()
    assert auto["state"] == "done"
    assert not await Timer.exists().where(Timer.milestone == auto["id"])


async def test_lowering_the_contract_value_to_what_was_collected_completes_the_milestone(api):
    org = await make_org()
    project = await in_collection(org)
    finance = await caller(api, org.a.users["finance"])
    await finance.post(f"/api/projects/{project['id']}/collections", json={"amount": "90000.00",
                                                                         "received_on": YESTERDAY})
    manager = await caller(api, org.a.users["branch_manager"])
    current = (await manager.get(f"/api/projects/{project['id']}")).json()
    too_low = await manager.patch(f"/api/projects/{project['id']}", json={"version": current["version"],
                                                                         "contract_value": "80000.00"})
    assert too_low.status_code == 422 and too_low.json()["field"] == "contract_value"
    lowered = await manager.patch(f"/api/projects/{project['id']}", json={"version": current["version"],
                                                                         "contract_value": "90000.00"})
    assert lowered.status_code == 200, lowered.text
    auto = await Milestone.select(Milestone.state).where((Milestone.project == project["id"])
                                                         & (Milestone.key == "commission_collected")).first()
    assert auto["state"] == "done"


async def test_automatic_milestone_cannot_be_ticked_by_hand(api):
    org = await make_org()
    project = await in_collection(org)
    auto = await Milestone.select().where((Milestone.project == project["id"])
                                          & (Milestone.key == "commission_collected")).first()
    finance = await caller(api, org.a.users["finance"])
    reply = await finance.post(f"/api/milestones/{auto['id']}/complete", json={"version": auto["version"]})
    assert reply.status_code == 409 and reply.json()["field"] == "auto"
