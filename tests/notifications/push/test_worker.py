"""Delivery rows and the worker against the local push-service stand-in, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator

import pytest

from backend import db
from backend.settings import Settings
from notifications import Notice, notify
from notifications.push.keys import VapidKeys
from notifications.push.tables import PushDelivery, PushPreference, PushSubscription
from notifications.tables import InboxItem
from tests.support.factories import make_org
from tests.support.notifications import Clock, deliveries, subscribe, worker_for
from tests.support.push_service import PushServiceStandIn

pytestmark = pytest.mark.anyio

# 10:00 in Shanghai, the factory branches' time zone.
MORNING = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def keys() -> VapidKeys:
    return VapidKeys.generate()


@pytest.fixture
def clock() -> Clock:
    return Clock(MORNING)


@pytest.fixture
async def standin(keys: VapidKeys, clock: Clock) -> AsyncIterator[PushServiceStandIn]:
    service = PushServiceStandIn(keys.application_server_key, clock=clock)
    await service.start()
    yield service
    await service.stop()
    assert not service.problems, service.problems


async def announce(*notices: Notice, at: dt.datetime) -> list[uuid.UUID]:
    async with db.write_transaction():
        return await notify(notices, at=at)


def escalation(user, project: uuid.UUID, title: str = "里程碑逾期") -> Notice:
    return Notice(user_id=user.id, kind="escalation", title=title, body="合同审核已超时 4 小时",
                  link=f"/projects/{project}", topic=str(project), urgency="high")


async def test_notify_adds_one_delivery_per_subscribed_device_in_its_transaction(database, keys, clock, standin):
    org = await make_org()
    manager, agent = org.a.users["branch_manager"], org.a.users["agent1"]
    await subscribe(manager, standin.browser("phone"))
    await subscribe(manager, standin.browser("laptop"), label="Linux Firefox")
    project = org.a.records["agent1"]["project"].id
    await announce(escalation(manager, project), Notice(user_id=agent.id, kind="reminder", title="r"), at=clock())
    rows = await deliveries()
    assert len(rows) == 2 and {r["status"] for r in rows} == {"pending"}
    assert {r["urgency"] for r in rows} == {"high"} and {r["topic"] for r in rows} == {project.hex}
    item = await InboxItem.select(InboxItem.id).where(InboxItem.user == manager.id).first()
    assert {r["inbox_item"] for r in rows} == {item["id"]}
    with pytest.raises(RuntimeError):
        async with db.write_transaction():
            await notify([escalation(manager, project)], at=clock())
            raise RuntimeError("the escalation's transaction fails")
    assert await PushDelivery.count() == 2, "a rolled-back alert leaves no push behind"


async def test_push_end_to_end_stand_in_decrypts_and_checks_headers(database, keys, clock, standin):
    org = await make_org()
    manager = org.a.users["branch_manager"]
    await subscribe(manager, standin.browser("phone"))
    project = org.a.records["agent1"]["project"].id
    await announce(escalation(manager, project), at=clock())
    worker = worker_for(keys, clock)
    try:
        assert await worker.run_once() == 1
    finally:
        await worker.stop()
    [got] = standin.delivered("phone")
    assert got.message == {"title": "里程碑逾期", "body": "合同审核已超时 4 小时", "url": f"/projects/{project}",
                           "tag": f"p-{project.hex}", "project_id": str(project), "kind": "escalation",
                           "urgency": "high"}
    assert got.headers["Urgency"] == "high" and got.headers["Topic"] == project.hex and got.headers["TTL"] == "3600"
    assert got.claims["aud"] == "http://127.0.0.1" and got.claims["sub"] == "mailto:ops@example.com"
    [row] = await deliveries()
    assert row["status"] == "sent" and row["attempts"] == 1 and row["finished_at"] == clock()


async def test_push_subscription_removed_on_410(database, keys, clock, standin):
    org = await make_org()
    manager = org.a.users["branch_manager"]
    await subscribe(manager, standin.browser("old"))
    standin.answers["old"] = [(410, {})]
    project = org.a.records["agent1"]["project"].id
    await announce(escalation(manager, project), escalation(manager, project, "second"), at=clock())
    worker = worker_for(keys, clock, batch=1)
    try:
        await worker.drain()
    finally:
        await worker.stop()
    assert standin.hits == 1, "the second push never goes to a gone subscription"
    assert await PushSubscription.count() == 0
    rows = await deliveries()
    assert [r["status"] for r in rows] == ["gone", "gone"] and "410" in rows[0]["last_error"]


async def test_push_429_retried_after_retry_after(database, keys, clock, standin):
    org = await make_org()
    manager = org.a.users["branch_manager"]
    await subscribe(manager, standin.browser("busy"))
    standin.answers["busy"] = [(429, {"Retry-After": "120"})]
    await announce(escalation(manager, uuid.uuid4()), at=clock())
    worker = worker_for(keys, clock)
    try:
        await worker.drain()
        [row] = await deliveries()
        assert row["status"] == "pending" and row["next_attempt_at"] == clock() + dt.timedelta(seconds=120)
        assert "429" in row["last_error"]
        clock.advance(seconds=119)
        assert await worker.drain() == 0
        clock.advance(seconds=1)
        assert await worker.drain() == 1
    finally:
        await worker.stop()
    [row] = await deliveries()
    assert row["status"] == "sent" and row["attempts"] == 2 and len(standin.delivered("busy")) == 1


async def test_push_500_then_201_is_sent_once(database, keys, clock, standin):
    org = await make_org()
    manager = org.a.users["branch_manager"]
    await subscribe(manager, standin.browser("flaky"))
    standin.answers["flaky"] = [(500, {})]
    await announce(escalation(manager, uuid.uuid4()), at=clock())
    worker = worker_for(keys, clock)
    try:
        await worker.drain()
        clock.advance(seconds=30)  # the first backoff step
        await worker.drain()
        clock.advance(hours=2)
        assert await worker.drain() == 0
    finally:
        await worker.stop()
    assert [r.status for r in standin.received] == [500, 201]
    [row] = await deliveries()
    assert row["status"] == "sent" and row["attempts"] == 2


async def test_push_gives_up_after_the_limit_with_the_reason(database, keys, clock, standin):
    org = await make_org()
    manager = org.a.users["branch_manager"]
    await subscribe(manager, standin.browser("broken"))
    standin.answers["broken"] = [(503, {})] * 20
    await announce(escalation(manager, uuid.uuid4()), at=clock())
    worker = worker_for(keys, clock)
    try:
        for _ in range(12):
            await worker.drain()
            clock.advance(hours=1)
    finally:
        await worker.stop()
    [row] = await deliveries()
    assert row["status"] == "failed" and row["attempts"] == 8 and "gave up after 8 attempts: HTTP 503" in row[
        "last_error"]
    assert await PushSubscription.count() == 1, "a failing push service is no reason to drop the subscription"


async def test_push_stand_in_down_retried_and_delivered_after_restart(database: Settings, keys, clock, standin):
    org = await make_org()
    manager = org.a.users["branch_manager"]
    await subscribe(manager, standin.browser("phone"))
    await standin.stop()
    project = uuid.uuid4()
    await announce(escalation(manager, project), at=clock())
    worker = worker_for(keys, clock)
    await worker.drain()
    await worker.stop()
    [row] = await deliveries()
    assert row["status"] == "pending" and row["attempts"] == 1 and row["last_error"]
    # The app restarts: a new engine (new connections) and a new worker; only the rows remember.
    first = db.current_engine()
    await db.stop(first)
    engine = db.engine_for(database)
    db.bind(engine)
    await db.start(engine, pool_size=2)
    await standin.start()
    clock.advance(seconds=30)
    worker = worker_for(keys, clock)
    try:
        assert await worker.drain() == 1
        [row] = await deliveries()
    finally:
        await worker.stop()
        await db.stop(engine)
        db.bind(first)
        await db.start(first, pool_size=2)  # the fixture closes the engine it made
    [got] = standin.delivered("phone")
    assert got.message["project_id"] == str(project)
    assert row["status"] == "sent" and row["attempts"] == 2


async def test_push_claim_abandoned_by_a_dead_worker_is_sent_after_the_lease(database, keys, clock, standin):
    org = await make_org()
    manager = org.a.users["branch_manager"]
    await subscribe(manager, standin.browser("phone"))
    await announce(escalation(manager, uuid.uuid4()), at=clock())
    from notifications.push.worker import claim_due

    assert len(await claim_due(clock(), 10, dt.timedelta(seconds=90), uuid.uuid4())) == 1  # then it "dies"
    worker = worker_for(keys, clock)
    try:
        assert await worker.drain() == 0
        clock.advance(seconds=90)
        assert await worker.drain() == 1
    finally:
        await worker.stop()
    assert len(standin.delivered("phone")) == 1


async def test_push_two_workers_at_once_send_each_delivery_once(database, keys, clock, standin):
    org = await make_org()
    users = list(org.a.users.values())
    for index, user in enumerate(users):
        await subscribe(user, standin.browser(f"b{index}"))
    for _ in range(5):
        await announce(*(Notice(user_id=u.id, kind="escalation", title="x", urgency="high") for u in users),
                       at=clock())
    first, second = worker_for(keys, clock, batch=7), worker_for(keys, clock, batch=7)
    try:
        counts = await asyncio.gather(first.drain(), second.drain())
    finally:
        await first.stop()
        await second.stop()
    assert sum(counts) == 5 * len(users) == len(standin.received)
    assert {r["status"] for r in await deliveries()} == {"sent"}


async def test_quiet_hours_hold_normal_push_and_escalation_goes_at_once(database, keys, standin):
    clock = standin.clock = Clock(dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC))  # 23:00 Shanghai
    org = await make_org()
    manager = org.a.users["branch_manager"]
    await subscribe(manager, standin.browser("phone"))
    await PushPreference.insert(PushPreference(user=manager.id, quiet_start=22 * 60, quiet_end=7 * 60))
    project = uuid.uuid4()
    await announce(Notice(user_id=manager.id, kind="stage_entry", title="进入签约阶段", topic=str(project)),
                   escalation(manager, project), at=clock())
    worker = worker_for(keys, clock)
    try:
        assert await worker.drain() == 1
        assert [r.message["kind"] for r in standin.received] == ["escalation"]
        held = (await deliveries(kind="stage_entry"))[0]
        assert held["status"] == "pending"
        assert held["next_attempt_at"] == dt.datetime(2026, 12, 1, 23, 0, tzinfo=dt.UTC)  # 07:00 local
        clock.advance(hours=7, seconds=59 * 60 + 59)
        assert await worker.drain() == 0
        clock.advance(seconds=1)
        assert await worker.drain() == 1
    finally:
        await worker.stop()
    assert [r.message["kind"] for r in standin.received] == ["escalation", "stage_entry"]
    assert standin.received[1].headers["Urgency"] == "normal"


async def test_muted_kind_makes_no_delivery_but_managers_keep_escalations(database, keys, clock, standin):
    org = await make_org()
    manager, agent = org.a.users["branch_manager"], org.a.users["agent1"]
    for user in (manager, agent):
        await subscribe(user, standin.browser(user.username))
        await PushPreference.insert(PushPreference(user=user.id, muted_kinds=["escalation", "reminder"]))
    await announce(*(Notice(user_id=u.id, kind=k, title=k) for u in (manager, agent)
                     for k in ("escalation", "reminder", "mention")), at=clock())
    rows = await deliveries()
    got = sorted((r["user"] == manager.id, r["kind"]) for r in rows)
    assert got == [(False, "mention"), (True, "escalation"), (True, "mention")]


async def test_push_claims_escalations_before_older_normal_pushes(database, keys, clock, standin):
    org = await make_org()
    manager = org.a.users["branch_manager"]
    await subscribe(manager, standin.browser("phone"))
    await announce(*(Notice(user_id=manager.id, kind="reminder", title=f"r{i}") for i in range(3)), at=clock())
    clock.advance(seconds=1)
    await announce(escalation(manager, uuid.uuid4(), "urgent"), at=clock())
    worker = worker_for(keys, clock, batch=1)
    try:
        await worker.drain()
    finally:
        await worker.stop()
    titles = [r.message["title"] for r in standin.received]
    assert titles[0] == "urgent" and sorted(titles[1:]) == ["r0", "r1", "r2"]


async def test_push_finished_deliveries_are_purged_after_their_keep_time(database, keys, clock, standin):
    from notifications.push.worker import purge_finished

    org = await make_org()
    manager = org.a.users["branch_manager"]
    await subscribe(manager, standin.browser("phone"))
    await announce(escalation(manager, uuid.uuid4()), at=clock())
    worker = worker_for(keys, clock)
    try:
        await worker.drain()
    finally:
        await worker.stop()
    await announce(escalation(manager, uuid.uuid4()), at=clock())  # still pending
    await purge_finished(clock())
    assert await PushDelivery.count() == 2
    await purge_finished(clock() + dt.timedelta(seconds=1))
    assert [r["status"] for r in await deliveries()] == ["pending"]


async def test_push_410_from_an_endpoint_replaced_meanwhile_keeps_the_new_subscription(database, keys, clock,
                                                                                        standin):
    from notifications.push.sender import make_transport

    org = await make_org()
    manager = org.a.users["branch_manager"]
    await subscribe(manager, standin.browser("old"))
    standin.answers["old"] = [(410, {})]
    renewed = standin.browser("new")
    real = make_transport("aiohttp", timeout=2.0)

    class RenewedWhileSending:
        """pushsubscriptionchange lands while the push to the old endpoint is on its way."""

        async def post(self, url, headers, body):
            await PushSubscription.update({PushSubscription.endpoint: renewed.endpoint,
                                           PushSubscription.p256dh: renewed.p256dh}).where(
                PushSubscription.user == manager.id)
            return await real.post(url, headers, body)

        async def close(self):
            await real.close()

    await announce(escalation(manager, uuid.uuid4()), at=clock())
    worker = worker_for(keys, clock, transport=RenewedWhileSending())
    try:
        await worker.drain()
    finally:
        await worker.stop()
    [row] = await deliveries()
    assert row["status"] == "gone"
    [kept] = await PushSubscription.select(PushSubscription.endpoint)
    assert kept["endpoint"] == renewed.endpoint
