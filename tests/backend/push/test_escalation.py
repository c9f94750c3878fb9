"""Must show: a real escalation reaches the manager's phone through a push service, without internet."""

from __future__ import annotations

import pytest

from notifications.push.tables import PushDelivery
from notifications.tables import InboxItem
from tests.support.escalation import escalate_to_subscribed_manager
from tests.support.factories import make_org

pytestmark = pytest.mark.anyio


async def test_push_escalation_end_to_end_decrypted_by_the_stand_in(api, database):
    org = await make_org()
    done = await escalate_to_subscribed_manager(api, org, database)
    push, project, milestone = done.push, done.project_id, done.milestone_id
    message = push.message
    assert message["kind"] == "escalation" and message["urgency"] == "high"
    assert "合同审核" in message["title"] and "合同审核" in message["body"]
    assert message["url"] == f"/projects/{project}#milestone-{milestone}"
    assert message["tag"] == f"p-{project.hex}" and message["project_id"] == str(project)
    assert len(push.plaintext) < 3000
    # RFC 8030 headers the `webpush` package does not send, and the VAPID token (RFC 8292) the stand-in verified.
    assert push.headers["Urgency"] == "high" and push.headers["Topic"] == project.hex
    assert push.headers["TTL"] == "7200" and push.headers["Content-Encoding"] == "aes128gcm"
    assert push.claims["aud"] == "http://127.0.0.1" and push.claims["sub"] == "mailto:ops@example.com"
    assert push.claims["exp"] > done.fired_at.timestamp()
    manager = org.a.users["branch_manager"]
    item = await InboxItem.select(InboxItem.id).where(
        (InboxItem.user == manager.id) & (InboxItem.kind == "escalation")).first()
    row = await PushDelivery.select().where(PushDelivery.inbox_item == item["id"]).first()
    assert row["status"] == "sent" and row["attempts"] == 1 and row["user"] == manager.id
