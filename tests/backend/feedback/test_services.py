"""Issue 14, in-app feedback: sent from a screen with its context, triaged by branch managers (their branch) and
executives (everyone), every change told to the reporter's inbox; admins read text and metadata only; 100 KB of
text is a 422 naming `text`, nothing written; the month's summary counts topics."""

from __future__ import annotations

import pytest

from backend.feedback.tables import Feedback
from notifications.tables import InboxItem
from tests.support.factories import caller, make_org

pytestmark = pytest.mark.anyio
CONTEXT = {"screen": "visit", "app_revision": "abc123", "outbox": "2 pending"}


async def test_feedback_reaches_the_branch_manager_and_the_reply_the_reporter(api):
    org = await make_org()
    agent = await caller(api, org.a.users["agent1"])
    sent = await agent.post("/api/feedback", json={"text": "车库没信号，照片上传很慢", **CONTEXT})
    assert sent.status_code == 201, sent.text
    item = sent.json()
    assert item["status"] == "new" and item["role"] == "agent" and item["outbox"] == "2 pending"
    assert item["topic"] == "sync"
    manager = await caller(api, org.a.users["branch_manager"])
    listed = (await manager.get("/api/feedback")).json()
    assert [f["id"] for f in listed] == [item["id"]]
    other_branch = await caller(api, org.b.users["branch_manager"])
    assert (await other_branch.get("/api/feedback")).json() == []
    assert (await other_branch.post(f"/api/feedback/{item['id']}/triage",
                                    json={"version": 1, "status": "accepted"})).status_code == 404
    accepted = await manager.post(f"/api/feedback/{item['id']}/triage",
                                  json={"version": 1, "status": "accepted", "reply": "下个版本改进离线上传"})
    assert accepted.status_code == 200, accepted.text
    inbox = await InboxItem.select().where(InboxItem.user == org.a.users["agent1"].id)
    assert len(inbox) == 1 and "已采纳" in inbox[0]["title"] and "下个版本改进离线上传" in inbox[0]["body"]
    assert inbox[0]["link"] == "/feedback"
    executive = await caller(api, org.executive)
    done = await executive.post(f"/api/feedback/{item['id']}/triage", json={"version": 2, "status": "done"})
    assert done.status_code == 200, done.text
    assert await InboxItem.count().where(InboxItem.user == org.a.users["agent1"].id) == 2
    back = await manager.post(f"/api/feedback/{item['id']}/triage", json={"version": 3, "status": "new"})
    assert back.status_code == 422 and back.json()["field"] == "status"
    stale = await manager.post(f"/api/feedback/{item['id']}/triage", json={"version": 1, "status": "accepted"})
    assert stale.status_code == 409
    mine = (await agent.get("/api/feedback")).json()
    assert mine[0]["status"] == "done" and mine[0]["reply"] == "下个版本改进离线上传"


async def test_agents_see_only_their_own_and_cannot_triage(api):
    org = await make_org()
    one, two = [await caller(api, org.a.users[k]) for k in ("agent1", "agent2")]
    made = (await one.post("/api/feedback", json={"text": "按钮太小"})).json()
    assert (await two.get("/api/feedback")).json() == []
    assert (await two.post(f"/api/feedback/{made['id']}/triage", json={"version": 1,
                                                                     "status": "done"})).status_code == 404
    assert (await one.post(f"/api/feedback/{made['id']}/triage", json={"version": 1,
                                                                     "status": "done"})).status_code == 403
    assert (await one.get("/api/feedback/summary")).status_code == 403


async def test_admin_reads_text_and_metadata_but_does_not_triage(api):
    org = await make_org()
    await (await caller(api, org.a.users["agent1"])).post("/api/feedback", json={"text": "登录太慢", **CONTEXT})
    admin = await caller(api, org.admin)
    [item] = (await admin.get("/api/feedback")).json()
    assert item["text"] == "登录太慢" and item["screen"] == "visit" and item["app_revision"] == "abc123"
    denied = await admin.post(f"/api/feedback/{item['id']}/triage", json={"version": 1, "status": "accepted"})
    assert denied.status_code == 403


async def test_100_kb_of_feedback_is_refused_naming_the_field(api):
    org = await make_org()
    agent = await caller(api, org.a.users["agent1"])
    reply = await agent.post("/api/feedback", json={"text": "慢" * 35_000, **CONTEXT})  # ≈ 100 KB of UTF-8
    assert reply.status_code == 422 and reply.json()["field"] == "text", reply.text
    empty = await agent.post("/api/feedback", json={"text": "   "})
    assert empty.status_code == 422 and empty.json()["field"] == "text"
    assert await Feedback.count() == 0


async def test_monthly_summary_lists_the_most_frequent_topics(api):
    org = await make_org()
    agent = await caller(api, org.a.users["agent1"])
    for text in ("离线同步失败", "同步很慢吗", "照片拍不了", "sync lost my note"):
        assert (await agent.post("/api/feedback", json={"text": text})).status_code == 201
    summary = (await (await caller(api, org.executive)).get("/api/feedback/summary")).json()
    assert summary["total"] == 4
    assert summary["topics"][0] == {"topic": "sync", "count": 3}
    assert {"topic": "photo", "count": 1} in summary["topics"]
