"""Carrying live events between workers on Litestar Channels: memory (one process), Redis pub/sub or PostgreSQL
LISTEN/NOTIFY (several), chosen by `IPMS_LIVE_BACKEND`.

Every worker publishes each committed batch on one channel and listens on it; what arrives (its own batches too)
goes to `backend.live.services.deliver`. None of these backends keeps history, and none is asked to: a screen that
reconnects runs its query again. Publishing never fails a request: a batch the backend refuses is logged (once per
outage) and dropped, and screens catch up when they next re-query.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import msgspec
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend

from backend.live.services import Event, deliver, set_transport
from backend.settings import Settings

log = logging.getLogger("ipms.live")
CHANNEL = "ipms_live"  # a plain identifier: PostgreSQL's NOTIFY channel names are identifiers
BATCH = 20  # events per message: a NOTIFY payload must stay under 8,000 bytes (an event is under 300)
BACKENDS = ("memory", "redis", "postgres")
_decode = msgspec.json.Decoder(list[Event])
_encode = msgspec.json.Encoder()


def make_backend(settings: Settings) -> ChannelsBackend:
    if settings.live_backend == "redis":
        from litestar.channels.backends.redis import RedisChannelsPubSubBackend
        from redis.asyncio import Redis

        return RedisChannelsPubSubBackend(redis=Redis.from_url(settings.redis_url), key_prefix="ipms_live")
    if settings.live_backend == "postgres":
        return _notify_backend(settings.database_url)
    return MemoryChannelsBackend()


def _notify_backend(dsn: str) -> ChannelsBackend:
    """Litestar's LISTEN/NOTIFY backend, publishing on one kept connection: its own opens a new connection for
    every publish (one per committed write here), a connection storm under load."""
    import asyncpg
    from litestar.channels.backends.asyncpg import AsyncPgChannelsBackend

    class KeptConnectionNotifyBackend(AsyncPgChannelsBackend):
        _publisher: asyncpg.Connection | None = None

        async def publish(self, data: bytes, channels: Any) -> None:
            if self._publisher is None or self._publisher.is_closed():
                self._publisher = await asyncpg.connect(dsn=dsn)
            try:
                for channel in channels:
                    await self._publisher.execute("SELECT pg_notify($1, $2)", channel, data.decode("utf-8"))
            except BaseException:
                publisher, self._publisher = self._publisher, None
                publisher.terminate()  # reopened for the next batch
                raise

        async def on_shutdown(self) -> None:
            if self._publisher is not None:
                await self._publisher.close()
                self._publisher = None
            await super().on_shutdown()

    return KeptConnectionNotifyBackend(dsn=dsn)


async def open_channels(channels: ChannelsPlugin, timeout: float = 10) -> None:
    """Start the plugin; if the backend fails half way, stop what had started (its worker tasks) and re-raise."""
    try:
        await asyncio.wait_for(channels.__aenter__(), timeout=timeout)
    except BaseException:
        with contextlib.suppress(Exception):
            await channels.__aexit__(None, None, None)
        raise


class LiveTransport:
    """Started and stopped with the app; while it runs, `backend.live.services.publish` goes through it."""

    def __init__(self, settings: Settings, backend: ChannelsBackend | None = None,
                 receive: Callable[[list[Event]], None] = deliver) -> None:
        self.name = settings.live_backend
        self.receive = receive
        self.channels = ChannelsPlugin(backend=backend or make_backend(settings), channels=[CHANNEL])
        self._listener: asyncio.Task[None] | None = None
        self._outbox: asyncio.Queue[bytes] | None = None
        self._sender: asyncio.Task[None] | None = None
        self._failing = False
        self.published = 0
        self.failed = 0

    async def start(self) -> None:
        """Connect and listen; a backend that cannot be reached leaves this worker's screens live among themselves
        (logged), rather than stopping the app."""
        try:
            await open_channels(self.channels)
        except Exception as exc:
            log.warning("Live updates: the %s backend is unreachable (%s); only this worker's screens update live",
                        self.name, exc)
            self.channels = ChannelsPlugin(backend=MemoryChannelsBackend(), channels=[CHANNEL])
            await self.channels.__aenter__()
        subscriber = await self.channels.subscribe(CHANNEL)
        ready = asyncio.Event()
        self._listener = asyncio.create_task(self._listen(subscriber, ready))
        await ready.wait()
        self._outbox = asyncio.Queue()
        self._sender = asyncio.create_task(self._send_in_order(self._outbox))
        set_transport(self.send)

    async def stop(self) -> None:
        set_transport(None)
        if self._outbox is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._outbox.join(), timeout=5)
        for task in (self._sender, self._listener):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.channels.__aexit__(None, None, None)

    async def _listen(self, subscriber: Any, ready: asyncio.Event) -> None:
        ready.set()
        async for payload in subscriber.iter_events():
            try:
                self.receive(_decode.decode(payload))
            except Exception:
                log.exception("A live event could not be delivered")

    def send(self, events: list[Event]) -> None:
        """Queue a committed batch; one task publishes in commit order, so the request never waits for the broker."""
        if self._outbox is None:
            deliver(events)
            return
        for start in range(0, len(events), BATCH):
            self._outbox.put_nowait(_encode.encode(events[start:start + BATCH]))

    async def _send_in_order(self, outbox: asyncio.Queue[bytes]) -> None:
        while True:
            payload = await outbox.get()
            try:
                await self._publish(payload)
            finally:
                outbox.task_done()

    async def _publish(self, payload: bytes) -> None:
        try:
            await self.channels.wait_published(payload, CHANNEL)
        except Exception as exc:
            self.failed += 1
            if not self._failing:
                self._failing = True
                log.warning("Live updates: the %s backend refused an event (%s); screens catch up on re-query",
                            self.name, exc)
            return
        self.published += 1
        if self._failing:
            self._failing = False
            log.warning("Live updates: the %s backend is publishing again", self.name)

    async def check(self) -> str:
        """A line for `ipms check`: the backend answers a publish, or why not."""
        try:
            await asyncio.wait_for(self.channels.wait_published(_encode.encode([]), CHANNEL), timeout=5)
        except Exception as exc:
            return f"live backend {self.name}: unreachable ({exc})"
        return f"live backend {self.name}: ok"
