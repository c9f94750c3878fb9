"""A real escalation, end to end, to a push-service stand-in: the manager's browser subscribes through the API,
the lifecycle clock fires the contract-review escalation 48 hours in, the push worker sends it, and the stand-in
checks and decrypts it. Used by the end-to-end test and by the Chromium test that replays the decrypted payload."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from backend.lifecycle.clock import fire_due_timers
from backend.lifecycle.tables import Milestone
from backend.projects.tables import Project
from backend.push import services
from backend.settings import Settings
from notifications.push.sender import make_transport
from tests.support.factories import Org, caller, register_device
from tests.support.lifecycle import new_project, walk_to
from tests.support.notifications import Clock
from tests.support.push_service import PushServiceStandIn, Received

PHONE = "manager-phone"


@dataclass
class Escalated:
    project_id: uuid.UUID
    milestone_id: uuid.UUID
    fired_at: dt.datetime
    push: Received
    standin: PushServiceStandIn
    settings: Settings


async def escalate_to_subscribed_manager(api: Any, org: Org, settings: Settings) -> Escalated:
    settings = dataclasses.replace(settings, vapid_subject="ops@example.com", push_ttl=7200)
    standin = PushServiceStandIn(services.vapid_keys(settings).application_server_key)
    await standin.start()
    try:
        manager = await caller(api, org.a.users["branch_manager"])
        device = await register_device(manager, "Android Chrome")
        browser = standin.browser(PHONE)
        reply = await manager.request("PUT", "/api/push/subscription",
                                      json={**browser.subscription_json(), "device_id": device})
        assert reply.status_code == 200, reply.text

        project = await new_project(org)
        await walk_to(org, project["id"], "signing")
        review = await Milestone.select(Milestone.id).where(
            (Milestone.project == project["id"]) & (Milestone.key == "contract_review")).first()
        entered = (await Project.select(Project.stage_entered_at).where(Project.id == project["id"]).first())[
            "stage_entered_at"]
        clock = Clock(entered + dt.timedelta(hours=48))
        standin.clock = clock
        assert await fire_due_timers(clock()) >= 1

        worker = services.make_worker(settings, clock=clock, transport=make_transport("aiohttp", timeout=5.0))
        try:
            assert await worker.drain() >= 1
        finally:
            await worker.stop()
    finally:
        await standin.stop()
    assert not standin.problems, standin.problems
    about_review = [r for r in standin.delivered(PHONE) if r.message["url"].endswith(f"#milestone-{review['id']}")]
    assert len(about_review) == 1, [r.message for r in standin.received]
    return Escalated(project_id=project["id"], milestone_id=review["id"], fired_at=clock(), push=about_review[0],
                     standin=standin, settings=settings)
