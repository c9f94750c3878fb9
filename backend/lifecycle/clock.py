"""The escalation clock: fires due reminder and escalation timers, exactly once, from inside the app.

A tick claims due timers and announces them in one transaction: the claim (a conditional UPDATE on SQLite,
`FOR UPDATE SKIP LOCKED` on PostgreSQL, so concurrent workers take disjoint rows), the inbox items through
`notifications.notify`, the milestones' and projects' escalation levels and the change-log rows for all of it
commit together or not at all. A crash before commit leaves the timers pending for the next tick; a restart
fires whatever fell due meanwhile. Time is injected (`now`), so tests drive the clock without sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
import uuid
from collections.abc import Callable
from typing import Any

from backend import db
from backend.audit.services import record_changes, to_json
from backend.housekeeping import Housekeeping
from backend.lifecycle import messages
from backend.lifecycle.parties import Person, Staff, ensure_participants, load_people
from backend.lifecycle.tables import Milestone, Timer
from backend.projects.tables import Project
from backend.settings import Settings
from notifications import Notice, notify

log = logging.getLogger("ipms.clock")

RETURNED = "id, milestone, project, branch, kind, level, target, target_role, target_user, due_at"
MILESTONE_COLUMNS = (
    Milestone.id, Milestone.project, Milestone.branch, Milestone.owner, Milestone.state, Milestone.due_at,
    Milestone.title_zh, Milestone.title_en, Milestone.escalation_level,
    Milestone.project.title.as_alias("project_title"), Milestone.project.owner.as_alias("project_owner"),
    Milestone.project.manager.as_alias("project_manager"),
    Milestone.project.escalation_level.as_alias("project_level"),
    Milestone.branch.timezone.as_alias("timezone"),
)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def worker_name() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}"


async def claim(now: dt.datetime, limit: int, worker: str, only: list[uuid.UUID] | None = None) -> list[dict[str, Any]]:
    """Mark up to `limit` due timers fired by `worker` and return them. The literal `state = 'pending'` matches
    the partial index; on PostgreSQL, rows another worker has locked are skipped, not waited for."""
    only = only or []
    restrict = f"AND id IN ({', '.join('{}' for _ in only)})" if only else ""
    lock = "FOR UPDATE SKIP LOCKED" if db.is_postgres() else ""
    query = (
        "UPDATE lifecycle_timers SET state = 'fired', fired_at = {}, worker = {} "
        "WHERE state = 'pending' AND id IN ("
        f"SELECT id FROM lifecycle_timers WHERE state = 'pending' AND due_at <= {{}} {restrict} "
        f"ORDER BY due_at LIMIT {{}} {lock}) RETURNING {RETURNED}"
    )
    timers: list[dict[str, Any]] = await Timer.raw(query, now, worker, now, *only, limit)
    return timers


def _announce(
    timer: dict[str, Any], milestone: dict[str, Any], recipients: list[Person], owner: Person | None
) -> list[Notice]:
    kind = "reminder" if timer["kind"] == "reminder" else "escalation"
    params: dict[str, Any] = {
        "milestone": (milestone["title_zh"], milestone["title_en"]), "project": milestone["project_title"],
        "due": milestone["due_at"], "timezone": milestone["timezone"],
    }
    if kind == "escalation":
        params |= {"level": timer["level"], "owner": owner.display_name if owner else "—"}
    return [messages.notice(kind, user_id=person.id, lang=person.language, project_id=milestone["project"],
                            source_id=timer["id"], milestone_id=milestone["id"], **params) for person in recipients]


async def fire_due_timers(now: dt.datetime, *, limit: int = 500, worker: str | None = None,
                          only: list[uuid.UUID] | None = None) -> int:
    """Claim up to `limit` timers due at `now` and announce them, all in one transaction; returns how many."""
    worker = worker or worker_name()
    async with db.write_transaction():
        timers = await claim(now, limit, worker, only)
        if not timers:
            return 0
        milestone_ids = list({t["milestone"] for t in timers})
        milestones = {m["id"]: m for m in await Milestone.select(*MILESTONE_COLUMNS).where(
            Milestone.id.is_in(milestone_ids))}
        stale = [t["id"] for t in timers if milestones[t["milestone"]]["state"] != "open"]
        if stale:  # cannot happen while every path that closes a milestone cancels its timers; stay safe anyway
            await Timer.update({Timer.state: "cancelled", Timer.cancelled_at: now}).where(Timer.id.is_in(stale))
        live = [t for t in timers if t["id"] not in set(stale)]
        staff = Staff(await load_people({m["branch"] for m in milestones.values()},
                                        [m["owner"] for m in milestones.values()]
                                        + [t["target_user"] for t in live if t["target_user"]]))
        notices: list[Notice] = []
        changes: list[dict[str, Any]] = []
        participants = []
        raised: dict[int, set[uuid.UUID]] = {}
        for timer in live:
            milestone = milestones[timer["milestone"]]
            owner = staff.people.get(milestone["owner"]) if milestone["owner"] else None
            target = timer["target"]
            recipients = staff.escalation_recipients(
                target, timer["target_role"], timer["target_user"], owner, milestone["branch"],
                {"owner": milestone["project_owner"], "manager": milestone["project_manager"]})
            notices += _announce(timer, milestone, recipients, owner)
            participants += [(milestone["project"], p, milestone["branch"], "escalation") for p in recipients]
            if timer["kind"] == "escalation":
                raised.setdefault(timer["level"], set()).add(milestone["id"])
            changes.append({
                "actor_id": None, "action": timer["kind"], "table": "lifecycle_timers", "row_id": timer["id"],
                "changes": {"before": {"state": "pending"}, "after": to_json({
                    "state": "fired", "milestone": milestone["id"], "project": milestone["project"],
                    "level": timer["level"], "to": [p.id for p in recipients], "due_at": timer["due_at"]})},
                "branch_id": milestone["branch"], "owner_id": milestone["owner"],
            })
            if not recipients:
                log.warning("Timer %s (%s) found nobody to tell", timer["id"], target)
        await notify(notices, at=now)
        changes += await raise_escalation_levels(raised, milestones)
        await record_changes(changes)
        await ensure_participants(participants, None, {m["project"]: m["project_owner"] for m in milestones.values()})
    return len(timers)


def _level_change(table: str, row_id: uuid.UUID, before: int, after: int, branch: uuid.UUID,
                  owner: uuid.UUID | None) -> dict[str, Any]:
    return {"actor_id": None, "action": "escalate", "table": table, "row_id": row_id, "branch_id": branch,
            "owner_id": owner,
            "changes": {"before": {"escalation_level": before}, "after": {"escalation_level": after}}}


async def raise_escalation_levels(raised: dict[int, set[uuid.UUID]],
                                  milestones: dict[uuid.UUID, dict[str, Any]]) -> list[dict[str, Any]]:
    """Record the highest level each milestone (and its project) has reached: one UPDATE per level reached, and
    the change-log rows saying so (for the caller's one multi-row insert), so the trail shows when a project
    was escalated."""
    reached: dict[uuid.UUID, int] = {}
    for level, ids in raised.items():
        for milestone_id in ids:
            reached[milestone_id] = max(level, reached.get(milestone_id, 0))
    project_reached: dict[uuid.UUID, int] = {}
    for milestone_id, level in reached.items():
        project = milestones[milestone_id]["project"]
        project_reached[project] = max(level, project_reached.get(project, 0))
    first = {m["project"]: m for m in milestones.values()}
    changes: list[dict[str, Any]] = []
    for level in sorted(set(reached.values())):
        chosen = [i for i, reached_level in reached.items() if reached_level == level]
        for row in await Milestone.update({Milestone.escalation_level: level}).where(
                Milestone.id.is_in(chosen) & (Milestone.escalation_level < level)).returning(Milestone.id):
            milestone = milestones[row["id"]]
            changes.append(_level_change("project_milestones", row["id"], milestone["escalation_level"], level,
                                         milestone["branch"], milestone["owner"]))
    for level in sorted(set(project_reached.values())):
        chosen = [i for i, reached_level in project_reached.items() if reached_level == level]
        for row in await Project.update({Project.escalation_level: level}).where(
                Project.id.is_in(chosen) & (Project.escalation_level < level)).returning(Project.id):
            project = first[row["id"]]
            changes.append(_level_change("projects", row["id"], project["project_level"], level, project["branch"],
                                         project["project_owner"]))
    return changes


async def next_due() -> dt.datetime | None:
    """The earliest pending deadline (the literal state matches the partial index: one index step, not a scan)."""
    rows = await Timer.raw("SELECT due_at FROM lifecycle_timers WHERE state = 'pending' ORDER BY due_at LIMIT 1")
    return rows[0]["due_at"] if rows else None


class EscalationClock:
    """The background task started in the app's lifespan: fire what is due, let `housekeeping` prune (it
    decides how often), then wait for the next due time (at most `interval` seconds, so timers created by other
    workers are seen promptly)."""

    def __init__(self, *, now: Callable[[], dt.datetime] = utcnow, interval: float = 15.0, batch: int = 500,
                 worker: str | None = None, housekeeping: Housekeeping | None = None) -> None:
        self.now, self.interval, self.batch = now, interval, batch
        self.housekeeping = housekeeping
        self.worker = worker or f"{worker_name()}:{uuid.uuid4().hex[:6]}"
        self.passes = 0
        self.fired = 0
        self._passed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._failures: dict[uuid.UUID, int] = {}

    @classmethod
    def for_settings(cls, settings: Settings, **options: Any) -> EscalationClock:
        return cls(interval=settings.clock_interval_seconds, batch=settings.clock_batch,
                   housekeeping=Housekeeping(settings), **options)

    async def tidy(self) -> dict[str, int] | None:
        """Housekeeping after a pass; its failure is logged and never stops the clock."""
        if self.housekeeping is None:
            return None
        try:
            return await self.housekeeping.run_if_due(self.now())
        except Exception:
            log.exception("Housekeeping failed; it is tried again after the next pass")
            return None

    async def run_once(self) -> int:
        """Fire everything due now, batch after batch; a batch that fails is retried timer by timer so one bad
        row cannot hold up the rest. Returns how many fired."""
        total = 0
        while True:
            now = self.now()
            try:
                fired = await fire_due_timers(now, limit=self.batch, worker=self.worker)
            except Exception:
                log.exception("Escalation clock: a batch failed; retrying its timers one by one")
                fired = await self._one_by_one(now)
            total += fired
            if fired < self.batch:
                break
        self.fired += total
        return total

    async def _one_by_one(self, now: dt.datetime) -> int:
        due = await Timer.select(Timer.id).where((Timer.state == "pending") & (Timer.due_at <= now)).order_by(
            Timer.due_at).limit(self.batch)
        fired = 0
        for row in due:
            try:
                fired += await fire_due_timers(now, limit=1, worker=self.worker, only=[row["id"]])
                self._failures.pop(row["id"], None)
            except Exception:
                count = self._failures[row["id"]] = self._failures.get(row["id"], 0) + 1
                log.exception("Timer %s failed to fire (attempt %s)", row["id"], count)
                if count >= 3:
                    await self._give_up(row["id"], now)
        return fired

    async def _give_up(self, timer_id: uuid.UUID, now: dt.datetime) -> None:
        async with db.write_transaction():
            await Timer.update({Timer.state: "failed", Timer.fired_at: now, Timer.worker: self.worker}).where(
                (Timer.id == timer_id) & (Timer.state == "pending"))
            await record_changes([{"actor_id": None, "action": "timer_failed", "table": "lifecycle_timers",
                                   "row_id": timer_id, "before": {"state": "pending"}, "after": {"state": "failed"}}])
        self._failures.pop(timer_id, None)
        log.error("Timer %s failed three times and was set aside (state 'failed')", timer_id)

    async def wait_for_pass(self, passes: int = 1) -> None:
        """Until the clock has completed `passes` passes since it started (for tests and start-up checks)."""
        async with self._passed:
            await self._passed.wait_for(lambda: self.passes >= passes)

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                await self.run_once()
                upcoming = await next_due()
            except Exception:
                log.exception("Escalation clock pass failed")
                upcoming = None
            await self.tidy()
            async with self._passed:
                self.passes += 1
                self._passed.notify_all()
            wait = self.interval
            if upcoming is not None:
                wait = min(wait, max((upcoming - self.now()).total_seconds(), 0.05))
            self._wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait)

    def start(self) -> asyncio.Task[None]:
        self._task = asyncio.get_running_loop().create_task(self.run(), name="escalation-clock")
        log.info("Escalation clock started as %s (at most %ss between passes)", self.worker, self.interval)
        return self._task

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
