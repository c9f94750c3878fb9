"""The app runs the push worker from start-up to shutdown (Litestar lifespan), like the escalation clock."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from backend import db
from backend.app import create_litestar
from notifications import Notice, notify
from notifications.push.tables import PushDelivery
from tests.support.factories import make_org
from tests.support.notifications import subscribe
from tests.support.push_service import PushServiceStandIn

pytestmark = pytest.mark.anyio


async def test_push_worker_runs_in_the_app_lifespan(database):
    settings = dataclasses.replace(database, clock_enabled=False, vapid_subject="ops@example.com")
    app = create_litestar(settings, run_migrations=False, engine=db.current_engine())
    from backend.push.services import vapid_keys

    standin = PushServiceStandIn(vapid_keys(settings).application_server_key)
    await standin.start()
    try:
        org = await make_org()
        manager = org.a.users["branch_manager"]
        await subscribe(manager, standin.browser("phone"))
        async with db.write_transaction():
            await notify([Notice(user_id=manager.id, kind="escalation", title="逾期", urgency="high")])
        async with app.lifespan():  # start-up and shutdown hooks, on this test's event loop
            worker = app.state.push_worker
            for _ in range(400):  # the worker's first round starts with the app; wait for it, at most ~20 s
                if await PushDelivery.exists().where(PushDelivery.status == "sent"):
                    break
                await asyncio.sleep(0.05)
        assert all(task.done() for task in worker._tasks) or not worker._tasks, "shutdown stops the worker"
    finally:
        await standin.stop()
    assert [r.message["title"] for r in standin.delivered("phone")] == ["逾期"]
    assert not standin.problems, standin.problems
