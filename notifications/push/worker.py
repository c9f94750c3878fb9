"""The push worker: claims due delivery rows, sends them concurrently, records each outcome on its row.

A claim is one statement (a conditional UPDATE on SQLite, whose writes are serialised; `FOR UPDATE SKIP LOCKED`
on PostgreSQL, so several workers never take the same row). It moves `next_attempt_at` past a lease: a worker
that dies mid-send leaves rows that become due again, so deliveries survive restarts (at least once; `Topic`
makes a repeat replace the first on the phone). Outcomes are written only while the claim is still ours.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import uuid
from collections import Counter
from dataclasses import dataclass

from piccolo.engine.postgres import PostgresEngine

from notifications.push.keys import VapidKeys
from notifications.push.sender import (
    Clock,
    Encryptor,
    Outcome,
    Reply,
    RetryPolicy,
    Transport,
    VapidSigner,
    classify,
    make_transport,
    push_headers,
    utcnow,
)
from notifications.push.tables import PushDelivery, PushSubscription

log = logging.getLogger("ipms.push")

CLAIM_SQL = """
UPDATE push_deliveries SET claim = {}, attempts = attempts + 1, next_attempt_at = {}
WHERE id IN (
    SELECT id FROM push_deliveries WHERE status = 'pending' AND next_attempt_at <= {}
    ORDER BY CASE WHEN urgency = 'high' THEN 0 ELSE 1 END, next_attempt_at LIMIT {} %s
)
RETURNING id, subscription, attempts, urgency, topic, payload
"""


@dataclass(frozen=True)
class Claimed:
    id: uuid.UUID
    subscription: uuid.UUID | None
    attempts: int
    urgency: str
    topic: str
    payload: bytes
    endpoint: str = ""
    p256dh: str = ""
    auth: str = ""


def _uuid(value: object) -> uuid.UUID | None:
    return None if value is None else value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


async def claim_due(now: dt.datetime, limit: int, lease: dt.timedelta, claim: uuid.UUID) -> list[Claimed]:
    """Take up to `limit` due pending deliveries for this worker (escalations first, then oldest), with the
    subscription each goes to."""
    postgres = isinstance(PushDelivery._meta.db, PostgresEngine)
    sql = CLAIM_SQL % ("FOR UPDATE SKIP LOCKED" if postgres else "")
    rows = await PushDelivery.raw(sql, claim, now + lease, now, limit)
    if not rows:
        return []
    subscription_ids = list({_uuid(r["subscription"]) for r in rows if r["subscription"] is not None})
    targets = {}
    if subscription_ids:
        found = await PushSubscription.select(
            PushSubscription.id, PushSubscription.endpoint, PushSubscription.p256dh, PushSubscription.auth
        ).where(PushSubscription.id.is_in(subscription_ids))
        targets = {_uuid(s["id"]): s for s in found}
    claimed = []
    for row in rows:
        target = targets.get(_uuid(row["subscription"]), {})
        claimed.append(Claimed(
            id=_uuid(row["id"]), subscription=_uuid(row["subscription"]) if target else None,  # type: ignore[arg-type]
            attempts=row["attempts"], urgency=row["urgency"], topic=row["topic"], payload=row["payload"].encode(),
            endpoint=target.get("endpoint", ""), p256dh=target.get("p256dh", ""), auth=target.get("auth", ""),
        ))
    return claimed


async def record_outcomes(results: list[tuple[Claimed, Outcome]], claim: uuid.UUID, now: dt.datetime) -> None:
    """Write every outcome in one transaction, each only if the row is still under this claim."""
    mine = PushDelivery.claim == claim
    sent = [c.id for c, o in results if o.status == "sent"]
    async with PushDelivery._meta.db.transaction():
        if sent:
            await PushDelivery.update({PushDelivery.status: "sent", PushDelivery.finished_at: now,
                                       PushDelivery.last_error: "", PushDelivery.claim: None}).where(
                PushDelivery.id.is_in(sent) & mine)
        for claimed, outcome in results:
            if outcome.status == "retry":
                await PushDelivery.update({PushDelivery.next_attempt_at: outcome.next_at, PushDelivery.claim: None,
                                           PushDelivery.last_error: outcome.reason[:500]}).where(
                    (PushDelivery.id == claimed.id) & mine)
            elif outcome.status in ("failed", "gone"):
                await PushDelivery.update({PushDelivery.status: outcome.status, PushDelivery.finished_at: now,
                                           PushDelivery.last_error: outcome.reason[:500],
                                           PushDelivery.claim: None}).where((PushDelivery.id == claimed.id) & mine)
            if outcome.status == "gone" and claimed.subscription is not None:
                # Unless the browser registered a new endpoint meanwhile, the subscription goes, and everything
                # else queued for it is undeliverable too.
                same = (PushSubscription.id == claimed.subscription) & (PushSubscription.endpoint == claimed.endpoint)
                if await PushSubscription.exists().where(same):
                    await PushDelivery.update({PushDelivery.status: "gone", PushDelivery.finished_at: now,
                                               PushDelivery.last_error: outcome.reason[:500]}).where(
                        (PushDelivery.subscription == claimed.subscription) & (PushDelivery.status == "pending")
                        & PushDelivery.claim.is_null())
                    await PushSubscription.delete().where(same)


async def purge_finished(before: dt.datetime) -> None:
    """Forget deliveries that ended (sent, failed, gone) before `before`: the table only grows otherwise."""
    await PushDelivery.delete().where((PushDelivery.status != "pending") & (PushDelivery.finished_at < before))


class PushWorker:
    """Sends due deliveries. `run_once()` is one claim-send-record round (tests and the CLI drive it);
    `start()` runs rounds in the background until `stop()`."""

    def __init__(self, keys: VapidKeys, *, subject: str = "", ttl: int = 86400, clock: Clock = utcnow,
                 transport: Transport | None = None, policy: RetryPolicy | None = None, batch: int = 200,
                 concurrency: int = 64, lease: dt.timedelta | None = None, poll_interval: float = 1.0,
                 lanes: int = 2, keep_finished: dt.timedelta = dt.timedelta(days=30)) -> None:
        self.clock, self.ttl = clock, ttl
        self.signer = VapidSigner(keys, subject, clock)
        self.encryptor = Encryptor(keys)
        self.transport = transport or make_transport("aiohttp", connections=concurrency)
        self.policy = policy or RetryPolicy()
        self.batch, self.poll_interval, self.lanes = batch, poll_interval, lanes
        self.lease = lease or dt.timedelta(seconds=90)
        self.keep_finished = keep_finished
        self._purged_at: dt.datetime | None = None
        self._limit = asyncio.Semaphore(concurrency)
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        self.counts: Counter[str] = Counter()

    async def _send(self, item: Claimed) -> Outcome:
        if item.subscription is None:
            return Outcome("gone", "subscription removed before sending")
        async with self._limit:
            try:
                body = self.encryptor.encrypt(item.payload, item.p256dh, item.auth)
                headers = push_headers(authorization=self.signer.header(item.endpoint), ttl=self.ttl,
                                       urgency=item.urgency, topic=item.topic)
            except ValueError as exc:  # keys are checked on registration; a bad one cannot get better
                return Outcome("failed", f"cannot encrypt for this subscription: {exc}"[:500])
            reply: Reply | None = None
            error = ""
            try:
                reply = await self.transport.post(item.endpoint, headers, body)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}".strip(": ")[:500]
        outcome = classify(reply, error, item.attempts, self.clock(), self.policy)
        if outcome.status != "sent":
            log.info("push %s → %s (%s)", item.id, outcome.status, outcome.reason)
        return outcome

    async def run_once(self) -> int:
        """Claim one batch of due deliveries, send them, record the outcomes; returns how many were claimed."""
        claim = uuid.uuid4()
        claimed = await claim_due(self.clock(), self.batch, self.lease, claim)
        if not claimed:
            return 0
        outcomes = await asyncio.gather(*(self._send(item) for item in claimed))
        results = list(zip(claimed, outcomes, strict=True))
        await record_outcomes(results, claim, self.clock())
        self.counts.update(o.status for o in outcomes)
        return len(claimed)

    async def drain(self, max_rounds: int = 10_000) -> int:
        """Rounds until nothing is due now (tests, the CLI and the benchmark)."""
        total = 0
        for _ in range(max_rounds):
            done = await self.run_once()
            if not done:
                break
            total += done
        return total

    async def purge_if_due(self) -> None:
        now = self.clock()
        if self._purged_at is None or now - self._purged_at > dt.timedelta(hours=1):
            self._purged_at = now
            await purge_finished(now - self.keep_finished)

    async def _lane(self, index: int) -> None:
        while not self._stopping.is_set():
            try:
                if index == 0:
                    await self.purge_if_due()
                busy = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # a database hiccup must not end the worker
                log.exception("push worker round failed")
                busy = 0
            if not busy:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.poll_interval)

    def start(self) -> None:
        """Run `lanes` rounds side by side, so one slow push service does not hold up everyone else's alerts."""
        self._stopping.clear()
        self._tasks = [asyncio.create_task(self._lane(i), name=f"push-worker-{i}") for i in range(self.lanes)]

    async def stop(self, grace: float = 5.0) -> None:
        """Let the rounds in flight record their outcomes (up to `grace` seconds), then cancel what is left; an
        unrecorded claim is sent again after its lease."""
        self._stopping.set()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=grace)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self.transport.close()
