"""The in-app inbox: items are rows written inside the caller's transaction; each user reads and marks their own."""

import datetime as dt

import pytest

from backend import db
from backend.audit.tables import ChangeLog
from notifications import Notice, notify
from notifications.tables import InboxItem
from tests.support.factories import caller, make_org

pytestmark = pytest.mark.anyio


async def send(user, title: str, at: dt.datetime | None = None) -> None:
    async with db.write_transaction():
        await notify([Notice(user_id=user.id, kind="reminder", title=title, body="正文", link="/projects/x")], at=at)


async def test_notify_refuses_to_run_outside_a_transaction(database):
    org = await make_org()
    with pytest.raises(RuntimeError, match="inside the transaction"):
        await notify([Notice(user_id=org.a.users["agent1"].id, kind="reminder", title="x")])
    assert await InboxItem.count() == 0


async def test_a_rolled_back_transaction_leaves_no_inbox_item(database):
    org = await make_org()
    with pytest.raises(ZeroDivisionError):
        async with db.write_transaction():
            await notify([Notice(user_id=org.a.users["agent1"].id, kind="reminder", title="x")])
            1 / 0  # noqa: B018
    assert await InboxItem.count() == 0


async def test_each_user_lists_counts_and_marks_only_their_own(api):
    org = await make_org()
    agent, other = org.a.users["agent1"], org.a.users["agent2"]
    earlier = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    await send(agent, "第一条", earlier)
    await send(agent, "第二条")
    await send(other, "别人的")
    me = await caller(api, agent)
    listed = (await me.get("/api/inbox")).json()
    assert [i["title"] for i in listed["items"]] == ["第二条", "第一条"]  # newest first
    assert listed["unread"] == 2 and listed["total"] == 2
    assert (await me.get("/api/inbox/unread-count")).json() == {"unread": 2}
    theirs = await InboxItem.select(InboxItem.id).where(InboxItem.user == other.id).first()
    assert (await me.post(f"/api/inbox/{theirs['id']}/read")).status_code == 404
    first = listed["items"][1]
    read = await me.post(f"/api/inbox/{first['id']}/read")
    assert read.status_code == 200 and read.json()["read"] is True
    again = await me.post(f"/api/inbox/{first['id']}/read")
    assert again.json()["read_at"] == read.json()["read_at"]  # stays read with its first time
    assert (await me.get("/api/inbox?unread=true")).json()["total"] == 1
    assert await ChangeLog.count().where((ChangeLog.table_name == "inbox_items") & (ChangeLog.action == "read")) == 1


async def test_read_all_up_to_what_was_seen(api):
    org = await make_org()
    user = org.executive  # executives are read-only on business data, but their inbox is theirs
    now = dt.datetime.now(dt.UTC)
    await send(user, "旧", now - dt.timedelta(hours=3))
    await send(user, "较新", now - dt.timedelta(hours=1))
    me = await caller(api, user)
    reply = await me.post("/api/inbox/read-all", json={"up_to": (now - dt.timedelta(hours=2)).isoformat()})
    assert reply.status_code == 200 and reply.json() == {"marked": 1, "unread": 1}
    reply = await me.post("/api/inbox/read-all", json={})
    assert reply.json() == {"marked": 1, "unread": 0}
