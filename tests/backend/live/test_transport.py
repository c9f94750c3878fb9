"""Every backend `IPMS_LIVE_BACKEND` offers carries a committed change from one app instance to another's screens."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from typing import Any

import pytest
from litestar.channels.backends.memory import MemoryChannelsBackend
from redis.asyncio import Redis

from backend import db
from backend.audit.services import record_change
from backend.audit.tables import ChangeLog
from backend.live import services as live
from backend.live.services import Event
from backend.live.transport import LiveTransport
from backend.settings import Settings

pytestmark = pytest.mark.anyio
REDIS_URL = "redis://127.0.0.1:6379/0"


async def _redis_reachable() -> bool:
    client = Redis.from_url(REDIS_URL)
    try:
        return bool(await asyncio.wait_for(client.ping(), timeout=2))
    except Exception:
        return False
    finally:
        await client.aclose()


async def _settings_for(name: str, database: Settings) -> Settings:
    if name == "redis" and not await _redis_reachable():
        pytest.skip("Redis not reachable at 127.0.0.1:6379")
    return dataclasses.replace(database, live_backend=name, redis_url=REDIS_URL)


async def _until(condition, seconds: float = 10.0) -> None:
    """Wait for `condition()` (a bound, not a timing assertion: delivery crosses a broker)."""
    async with asyncio.timeout(seconds):
        while not condition():
            await asyncio.sleep(0.01)


@pytest.mark.parametrize("name", ["memory", "redis"])
async def test_a_committed_write_on_one_instance_reaches_the_other(database, name: str) -> None:
    """Two transports (what two app workers run) on one broker: a change committed where A publishes arrives at
    B; a rolled-back one never does. The memory backend is one process's, so there A is B."""
    await _crosses(database, name)


@pytest.mark.parametrize("backend_name", ["postgres"], indirect=True)
async def test_a_committed_write_crosses_postgres_listen_notify(database) -> None:
    """The LISTEN/NOTIFY backend lives in the PostgreSQL database itself (it needs IPMS_DATABASE_URL to be one)."""
    await _crosses(database, "postgres")


async def _crosses(database: Settings, name: str) -> None:
    settings = await _settings_for(name, database)
    got_a: list[Event] = []
    got_b: list[Event] = []
    worker_a = LiveTransport(settings, receive=got_a.extend)
    await worker_a.start()
    worker_b = worker_a if name == "memory" else LiveTransport(settings, receive=got_b.extend)
    if worker_b is not worker_a:
        await worker_b.start()
    received_by_b = got_a if name == "memory" else got_b
    try:
        live.set_transport(worker_a.send)  # this process's writes go out through A
        row = str(uuid.uuid4())
        with pytest.raises(RuntimeError):
            async with db.write_transaction():
                await record_change(actor_id=None, action="create", table="live_test", row_id="rolled-back")
                raise RuntimeError("rolled back")
        async with db.write_transaction():
            await record_change(actor_id=None, action="create", table="live_test", row_id=row,
                                after={"project": uuid.UUID(int=1)})
        await _until(lambda: any(e.id == row for e in received_by_b))
        assert [e.id for e in received_by_b if e.resource == "live_test"] == [row]
        if worker_b is not worker_a:
            await _until(lambda: any(e.id == row for e in got_a))  # A hears its own change too
    finally:
        live.set_transport(None)
        if worker_b is not worker_a:
            await worker_b.stop()
        await worker_a.stop()


@pytest.mark.parametrize("backend_name", ["postgres"], indirect=True)
async def test_many_events_cross_in_batches(database) -> None:
    """More events than one message holds (a NOTIFY payload is at most 8,000 bytes) all arrive."""
    settings = await _settings_for("postgres", database)
    got: list[Event] = []
    sender, listener = LiveTransport(settings, receive=lambda _: None), LiveTransport(settings, receive=got.extend)
    await sender.start()
    await listener.start()
    try:
        events = [Event(resource="live_test", id=str(uuid.uuid4()), scope={"project": str(uuid.uuid4()),
                        "branch": str(uuid.uuid4()), "owner": str(uuid.uuid4())}) for _ in range(101)]
        sender.send(events)
        await _until(lambda: len(got) == len(events))
        assert got == events
    finally:
        await listener.stop()
        await sender.stop()


async def test_unreachable_redis_never_fails_a_write(database, caplog: pytest.LogCaptureFixture) -> None:
    """Redis down: the app still starts, the write commits, this worker's own screens still hear of it, and the
    outage is logged once."""
    settings = dataclasses.replace(database, live_backend="redis", redis_url="redis://127.0.0.1:1/0")
    got: list[Event] = []
    transport = LiveTransport(settings, receive=got.extend)
    with caplog.at_level(logging.WARNING, logger="ipms.live"):
        await transport.start()
    try:
        live.set_transport(transport.send)
        async with db.write_transaction():
            await record_change(actor_id=None, action="create", table="live_test", row_id="kept")
        await _until(lambda: [e.id for e in got] == ["kept"])
    finally:
        live.set_transport(None)
        await transport.stop()
    assert len([r for r in caplog.records if "unreachable" in r.getMessage()]) == 1


async def test_check_names_an_unreachable_backend(database) -> None:
    from backend.ops import live_backend_problem

    assert await live_backend_problem(dataclasses.replace(database, live_backend="memory")) is None
    problem = await live_backend_problem(dataclasses.replace(database, live_backend="redis",
                                                             redis_url="redis://127.0.0.1:1/0"))
    assert problem is not None and "live backend redis unreachable" in problem
    if await _redis_reachable():
        assert await live_backend_problem(dataclasses.replace(database, live_backend="redis",
                                                              redis_url=REDIS_URL)) is None


class FlakyBackend(MemoryChannelsBackend):
    """An in-process broker that refuses to publish while `down` (a Redis outage without stopping Redis)."""

    down = False

    async def publish(self, data: bytes, channels: Any) -> None:
        if self.down:
            raise ConnectionError("broker down")
        await super().publish(data, channels)


async def test_an_outage_mid_run_fails_no_write_and_is_logged_once(database, caplog: pytest.LogCaptureFixture) -> None:
    backend = FlakyBackend()
    got: list[Event] = []
    transport = LiveTransport(dataclasses.replace(database, live_backend="redis"), backend=backend,
                              receive=got.extend)
    await transport.start()
    try:
        backend.down = True
        with caplog.at_level(logging.WARNING, logger="ipms.live"):
            for n in range(3):
                async with db.write_transaction():  # commits although the broker refuses its event
                    await record_change(actor_id=None, action="create", table="live_test", row_id=f"lost-{n}")
            await _until(lambda: transport.failed == 3)
            backend.down = False
            async with db.write_transaction():
                await record_change(actor_id=None, action="create", table="live_test", row_id="after")
            await _until(lambda: [e.id for e in got] == ["after"])
    finally:
        live.set_transport(None)
        await transport.stop()
    kept = await ChangeLog.select(ChangeLog.row_id).where(ChangeLog.table_name == "live_test")
    assert sorted(r["row_id"] for r in kept) == ["after", "lost-0", "lost-1", "lost-2"]
    messages = [r.getMessage() for r in caplog.records]
    assert len([m for m in messages if "refused" in m]) == 1
    assert len([m for m in messages if "publishing again" in m]) == 1
