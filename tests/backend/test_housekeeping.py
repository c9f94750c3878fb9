"""The clock's housekeeping: old login attempts, expired sessions and old applied sync operations go, in batches,
each batch logged; everything else stays. Time is injected."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import pytest

from backend.accounts.tables import Branch, LoginAttempt, Region, Session, User
from backend.audit.tables import ChangeLog
from backend.housekeeping import Housekeeping, counts, prune
from backend.lifecycle.clock import EscalationClock
from backend.sync.tables import SyncOperation
from tests.support.factories import make_user

pytestmark = pytest.mark.anyio
NOW = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


async def _user() -> User:
    region = Region(code="r", name="R")
    await Region.insert(region)
    branch = Branch(region=region.id, code="B", name="B")
    await Branch.insert(branch)
    return await make_user(branch, "agent", "agent")


async def _seed() -> dict[str, list[str]]:
    """Rows either side of each rule (defaults: 30 days' retention, sessions idle 12 h / absolute 30 days)."""
    user = await _user()
    await LoginAttempt.insert(*(LoginAttempt(ip="203.0.113.9", username="agent", at=NOW - age)
                                for age in (31 * DAY, 40 * DAY, 300 * DAY, 29 * DAY, dt.timedelta(minutes=1))))
    sessions = {"idle": (NOW - 2 * DAY, NOW - 13 * dt.timedelta(hours=1)), "old": (NOW - 31 * DAY, NOW),
                "live": (NOW - 2 * DAY, NOW - dt.timedelta(hours=1))}
    await Session.insert(*(Session(token_hash=uuid.uuid4().hex, user=user.id, csrf_token="x", created_at=created,
                                   last_seen_at=seen, user_agent=name) for name, (created, seen) in sessions.items()))
    await SyncOperation.insert(*(SyncOperation(id=uuid.uuid4(), user=user.id, kind=f"op{age.days}",
                                               applied_at=NOW - age) for age in (31 * DAY, 29 * DAY)))
    return {"sessions": ["live"], "sync_operations": ["op29"]}


async def test_prune_deletes_in_batches_only_what_is_past_its_time(database) -> None:
    kept = await _seed()
    log_before = await ChangeLog.count()
    assert await prune(database, NOW, batch=2) == {"login_attempts": 3, "sessions": 2, "sync_operations": 1}
    assert sorted(r["at"] for r in await LoginAttempt.select(LoginAttempt.at)) == [
        NOW - 29 * DAY, NOW - dt.timedelta(minutes=1)]
    assert [r["user_agent"] for r in await Session.select(Session.user_agent)] == kept["sessions"]
    assert [r["kind"] for r in await SyncOperation.select(SyncOperation.kind)] == kept["sync_operations"]
    logged = await ChangeLog.select(ChangeLog.table_name, ChangeLog.action).where(ChangeLog.action == "prune")
    # Batches of 2: login attempts 2 + 1, sessions 2 (and an empty batch that writes nothing), sync 1.
    assert sorted(r["table_name"] for r in logged) == ["login_attempts", "login_attempts", "sessions",
                                                       "sync_operations"]
    assert await ChangeLog.count() - log_before == 4
    assert await prune(database, NOW) == {"login_attempts": 0, "sessions": 0, "sync_operations": 0}


async def test_counts_split_prunable_from_retained(database) -> None:
    await _seed()
    before = {rule.table: (prunable, retained) for rule, prunable, retained in await counts(database, NOW)}
    assert before == {"login_attempts": (3, 2), "sessions": (2, 1), "sync_operations": (1, 1)}
    await prune(database, NOW)
    after = {rule.table: (prunable, retained) for rule, prunable, retained in await counts(database, NOW)}
    assert after == {"login_attempts": (0, 2), "sessions": (0, 1), "sync_operations": (0, 1)}


async def test_login_attempts_inside_the_sign_in_window_are_kept_whatever_the_retention(database) -> None:
    await _seed()
    settings = dataclasses.replace(database, retention_days=1, login_window_minutes=60 * 24 * 35)
    assert (await prune(settings, NOW))["login_attempts"] == 2  # the 40- and 300-day-old ones: past 35 days


async def test_housekeeping_runs_at_most_once_per_interval(database) -> None:
    await _seed()
    housekeeping = Housekeeping(database, every=dt.timedelta(hours=1))
    assert (await housekeeping.run_if_due(NOW))["login_attempts"] == 3
    await LoginAttempt.insert(LoginAttempt(ip="203.0.113.9", username="agent", at=NOW - 50 * DAY))
    assert await housekeeping.run_if_due(NOW + dt.timedelta(minutes=59)) is None
    assert (await housekeeping.run_if_due(NOW + dt.timedelta(minutes=61)))["login_attempts"] == 1


async def test_the_escalation_clock_pass_runs_housekeeping(database) -> None:
    await _seed()
    clock = EscalationClock(now=lambda: NOW, interval=3600, housekeeping=Housekeeping(database))
    clock.start()
    try:
        await clock.wait_for_pass()
    finally:
        await clock.stop()
    assert await LoginAttempt.count() == 2 and await Session.count() == 1 and await SyncOperation.count() == 1


async def test_a_failing_housekeeping_never_stops_the_clock(database, monkeypatch) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    clock = EscalationClock(now=lambda: NOW, interval=3600, housekeeping=Housekeeping(database))
    monkeypatch.setattr(clock.housekeeping, "run_if_due", broken)
    assert await clock.tidy() is None
