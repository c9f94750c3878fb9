"""Client protection (one phone per branch, the manager told, nothing of the attempt written) and reopening a won or
lost opportunity."""

import pytest

from backend.audit.tables import ChangeLog
from backend.clients import services
from backend.clients.tables import Client, Opportunity
from backend.errors import Conflict, Forbidden, Invalid, NotFound
from notifications.tables import InboxItem
from tests.support.factories import actor

pytestmark = pytest.mark.anyio


async def test_a_phone_the_branch_holds_is_refused_naming_no_one_and_the_manager_is_told(org):
    agent2 = actor(org.a.users["agent2"])
    before = await Client.count()
    with pytest.raises(Invalid) as refused:
        await services.create_client(agent2, {"name": "王先生", "phone": "138 0000-0000"})
    assert refused.value.field == "phone"
    assert refused.value.message == "already registered in your branch; your manager has been told"
    assert "client of" not in refused.value.message and "A_agent1" not in refused.value.message
    assert await Client.count() == before
    items = await InboxItem.select().where(InboxItem.user == org.a.users["branch_manager"].id)
    assert [i["kind"] for i in items] == ["client_collision"]
    assert "13800000000" in items[0]["title"] and "A_AGENT2" in items[0]["body"]
    assert await ChangeLog.exists().where(ChangeLog.action == "collision")
    # The other branch's manager hears nothing; another branch may hold the same number.
    assert not await InboxItem.exists().where(InboxItem.user == org.b.users["branch_manager"].id)
    created = await services.create_client(actor(org.b.users["agent1"]), {"name": "李女士", "phone": "+8613911112222"})
    assert created.phone == "+8613911112222"


async def test_changing_a_phone_to_one_the_branch_holds_is_refused(org):
    agent2 = actor(org.a.users["agent2"])
    mine = await services.create_client(agent2, {"name": "赵先生", "phone": "13912345678"})
    with pytest.raises(Invalid) as refused:
        await services.update_client(agent2, mine.id, mine.version, {"phone": "13800000000"})
    assert refused.value.field == "phone"
    assert (await services.get_client(agent2, mine.id)).phone == "13912345678"
    # Keeping one's own number (written another way) is no collision.
    kept = await services.update_client(agent2, mine.id, mine.version, {"phone": "139-1234-5678", "budget_max": 900})
    assert kept.phone == "13912345678" and kept.budget_max == 900


async def test_an_invisible_client_is_a_404_before_the_phone_is_checked(org):
    other = org.b.records["agent1"]["client"]
    with pytest.raises(NotFound):
        await services.update_client(actor(org.a.users["agent1"]), other.id, 1, {"phone": "13800000000"})
    assert not await InboxItem.exists()


async def test_a_won_opportunity_is_reopened_by_its_owner_or_a_manager_with_the_reason(org):
    agent1 = actor(org.a.users["agent1"])
    opportunity = org.a.records["agent1"]["opportunity"]
    moved = await services.move_opportunity(agent1, opportunity.id, 1, "following")
    won = await services.move_opportunity(agent1, opportunity.id, moved.version, "won")
    assert won.closed_at is not None
    with pytest.raises(Invalid) as no_reason:
        await services.reopen_opportunity(agent1, opportunity.id, won.version, "  ")
    assert no_reason.value.field == "reason"
    with pytest.raises(NotFound):
        await services.reopen_opportunity(actor(org.a.users["agent2"]), opportunity.id, won.version, "x")
    reopened = await services.reopen_opportunity(agent1, opportunity.id, won.version, "客户还在比较")
    assert (reopened.state, reopened.closed_at) == ("following", None)
    log = await ChangeLog.select().where(ChangeLog.action == "reopen").first()
    changes = log["changes"] if isinstance(log["changes"], dict) else __import__("json").loads(log["changes"])
    assert changes["reason"] == "客户还在比较" and changes["before"]["state"] == "won"
    with pytest.raises(Conflict):
        await services.reopen_opportunity(agent1, opportunity.id, reopened.version, "again")
    lost = await services.move_opportunity(agent1, opportunity.id, reopened.version, "lost", "预算不够")
    manager = actor(org.a.users["branch_manager"])
    again = await services.reopen_opportunity(manager, opportunity.id, lost.version, "客户回来了")
    assert again.state == "following" and again.lost_reason == ""
    with pytest.raises((Forbidden, NotFound)):
        await services.reopen_opportunity(actor(org.executive), opportunity.id, again.version, "x")
    assert (await Opportunity.select(Opportunity.state).where(Opportunity.id == opportunity.id).first())[
        "state"] == "following"
