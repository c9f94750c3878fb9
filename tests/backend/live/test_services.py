"""Live events: announced once the writing transaction commits, never after a rollback, ids and scope keys only."""

from __future__ import annotations

import uuid

import pytest

from backend import db
from backend.audit.services import record_change
from backend.live import services as live
from backend.live.services import Event
from notifications.inbox import Notice, notify
from tests.support.factories import Org

pytestmark = pytest.mark.anyio


def _events(subscription: live.Subscription) -> list[Event]:
    return subscription.drain()


async def test_committed_write_announces_its_change_after_commit(database) -> None:
    row = str(uuid.uuid4())
    branch = uuid.uuid4()
    with live.subscribe([("live_test", None)]) as subscription:
        async with db.write_transaction():
            await record_change(actor_id=None, action="create", table="live_test", row_id=row, branch_id=branch,
                                after={"project": uuid.UUID(int=7), "title": "secret"})
            assert _events(subscription) == []  # not while the transaction is open
        [event] = _events(subscription)
    assert event == Event(resource="live_test", id=row, action="create",
                          scope={"project": str(uuid.UUID(int=7)), "branch": str(branch)})
    assert "secret" not in repr(event)


async def test_rolled_back_write_announces_nothing(database) -> None:
    with live.subscribe([("live_test", None)]) as subscription:
        with pytest.raises(RuntimeError):
            async with db.write_transaction():
                await record_change(actor_id=None, action="create", table="live_test", row_id="x")
                raise RuntimeError("the write fails after its change-log row")
        assert _events(subscription) == []


async def test_explicit_rollback_announces_nothing(database) -> None:
    with live.subscribe([("live_test", None)]) as subscription:
        async with db.write_transaction() as transaction:
            await record_change(actor_id=None, action="create", table="live_test", row_id="x")
            await transaction.rollback()
        assert _events(subscription) == []


async def test_nested_transaction_announces_when_the_outer_one_commits(database) -> None:
    with live.subscribe([("live_test", None)]) as subscription:
        async with db.write_transaction():
            async with db.write_transaction():
                await record_change(actor_id=None, action="create", table="live_test", row_id="inner")
            assert _events(subscription) == []
            await record_change(actor_id=None, action="create", table="live_test", row_id="outer")
        assert [event.id for event in _events(subscription)] == ["inner", "outer"]


async def test_subscription_gets_only_what_it_watches(database) -> None:
    project, other = uuid.uuid4(), uuid.uuid4()
    with live.subscribe([("project_milestones", {"project": str(project)})]) as subscription:
        async with db.write_transaction():
            for parent in (project, other):
                await record_change(actor_id=None, action="complete", table="project_milestones",
                                    row_id=uuid.uuid4(), after={"project": parent})
            await record_change(actor_id=None, action="create", table="notes", row_id=uuid.uuid4(),
                                after={"project": project})
        events = _events(subscription)
    assert [(e.resource, e.scope["project"]) for e in events] == [("project_milestones", str(project))]


async def test_inbox_item_is_announced_to_its_user_after_commit(database, org: Org) -> None:
    user = org.a.users["agent1"].id
    with live.subscribe([("inbox_items", {"user": str(user)})]) as subscription:
        async with db.write_transaction():
            [item] = await notify([Notice(user_id=user, kind="test", title="Private title")])
            assert _events(subscription) == []
        [event] = _events(subscription)
    assert (event.resource, event.id, event.scope) == ("inbox_items", str(item), {"user": str(user)})
    with live.subscribe([("inbox_items", None)]) as subscription:
        with pytest.raises(RuntimeError):
            async with db.write_transaction():
                await notify([Notice(user_id=user, kind="test", title="Never")])
                raise RuntimeError("rolled back")
        assert _events(subscription) == []
