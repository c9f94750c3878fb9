"""Housekeeping on the escalation clock: forget rows that only ever pile up.

- login attempts older than `IPMS_RETENTION_DAYS` (never inside the sign-in limit's window);
- sessions that have expired (idle or absolute timeout): nothing can use them again, and each keeps an address
  and a browser name;
- applied sync operations older than `IPMS_RETENTION_DAYS`: a replay is answered from them, and a device that
  has not been heard from for that long re-sends nothing it already got an answer for.

Each batch is its own short transaction (on SQLite the one writer is held for one batch, never for the whole
pass), takes rows other workers have locked on PostgreSQL never (`SKIP LOCKED`), and writes one change-log row
with what it deleted. Time is injected: the clock passes its own `now`.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from piccolo.querystring import QueryString

from backend import db
from backend.audit.services import record_change
from backend.settings import Settings

log = logging.getLogger("ipms.housekeeping")

BATCH = 1000
EVERY = dt.timedelta(hours=1)


@dataclass(frozen=True)
class Rule:
    table: str
    key: str
    condition: str  # SQL over the table's columns, with `{}` placeholders for `cutoffs`
    cutoffs: tuple[dt.datetime, ...]
    reason: str


def rules(settings: Settings, now: dt.datetime) -> list[Rule]:
    retention = dt.timedelta(days=settings.retention_days)
    attempts = now - max(retention, dt.timedelta(minutes=settings.login_window_minutes))
    idle = now - dt.timedelta(hours=settings.session_idle_hours)
    absolute = now - dt.timedelta(days=settings.session_absolute_days)
    return [
        Rule("login_attempts", "id", "at < {}", (attempts,), f"older than {settings.retention_days} days"),
        Rule("sessions", "id", "(last_seen_at < {} OR created_at < {})", (idle, absolute),
             f"expired (unused {settings.session_idle_hours} h, or signed in over "
             f"{settings.session_absolute_days} days ago)"),
        Rule("sync_operations", "id", "applied_at < {}", (now - retention,),
             f"applied more than {settings.retention_days} days ago"),
    ]


async def _prune_batch(rule: Rule, batch: int) -> int:
    lock = " FOR UPDATE SKIP LOCKED" if db.is_postgres() else ""
    async with db.write_transaction():
        gone = await db.current_engine().run_querystring(_delete(rule, batch, lock))
        if gone:
            await record_change(actor_id=None, action="prune", table=rule.table, row_id="*",
                                after={"deleted": len(gone), "rule": rule.reason})
    return len(gone)


def _delete(rule: Rule, batch: int, lock: str) -> QueryString:
    return QueryString(
        f"DELETE FROM {rule.table} WHERE {rule.key} IN (SELECT {rule.key} FROM {rule.table} "
        f"WHERE {rule.condition} LIMIT {batch}{lock}) RETURNING {rule.key}", *rule.cutoffs)


async def prune(settings: Settings, now: dt.datetime, *, batch: int = BATCH) -> dict[str, int]:
    """Delete every prunable row, `batch` rows per transaction; returns how many per table."""
    deleted: dict[str, int] = {}
    for rule in rules(settings, now):
        total = 0
        while True:
            gone = await _prune_batch(rule, batch)
            total += gone
            if gone < batch:
                break
        deleted[rule.table] = total
        if total:
            log.info("Housekeeping: deleted %s %s (%s)", total, rule.table, rule.reason)
    return deleted


async def counts(settings: Settings, now: dt.datetime) -> list[tuple[Rule, int, int]]:
    """(rule, prunable rows, retained rows) per table, for `ipms check`."""
    out = []
    for rule in rules(settings, now):
        [row] = await db.current_engine().run_querystring(QueryString(
            f"SELECT COUNT(*) AS total, SUM(CASE WHEN {rule.condition} THEN 1 ELSE 0 END) AS prunable "
            f"FROM {rule.table}", *rule.cutoffs))
        prunable = int(row["prunable"] or 0)
        out.append((rule, prunable, int(row["total"]) - prunable))
    return out


class Housekeeping:
    """Run by the escalation clock after its pass: prunes at most once per `every` (and at the first pass)."""

    def __init__(self, settings: Settings, *, every: dt.timedelta = EVERY, batch: int = BATCH) -> None:
        self.settings, self.every, self.batch = settings, every, batch
        self.last_run: dt.datetime | None = None

    async def run_if_due(self, now: dt.datetime) -> dict[str, int] | None:
        if self.last_run is not None and now - self.last_run < self.every:
            return None
        self.last_run = now
        return await prune(self.settings, now, batch=self.batch)
