"""Benchmark: one escalation-clock tick, beside a raw-SQL baseline in the same run (issue 3, "Benchmark").

Setup (not measured): a fresh migrated database (a temporary SQLite file; and a PostgreSQL database of its own
when the server at ``--postgres`` answers, created here and dropped at the end) holding one branch, its staff,
and 25,000 open milestones with four timers each (reminder, then escalation levels 1–3): 100,000 pending timers,
of which 1,000 are due (``--quick``: 10,000 and 1,000).

Measured, alternately, ``--runs`` times each (the median is reported), with the due timers put back between runs:
- ``tick``: ``fire_due_timers(now, limit=1000)``, the service the app's clock runs: the claim, the recipients'
  lookup (owners, supervisors, branch managers), one inbox item per recipient through ``notifications.notify``,
  one change-log row per timer, the milestones' and projects' escalation levels and a change-log row for each
  level raised, all in one transaction;
- ``raw``: the same claim statement, the owners' supervisors by one join, and the same inbox, change-log and
  escalation-level writes as plain SQL through the driver (executemany), in one transaction.

Run ``python bench/clock.py [--quick] [--postgres URL | --no-postgres]``; the last line is one JSON object with
``bench``, ``tick_s`` and ``raw_s`` (the slower backend's), ``ratio`` (the larger) and per-backend figures.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout: `python bench/clock.py`

from backend import db
from backend.lifecycle import definitions
from backend.lifecycle.clock import claim, fire_due_timers
from backend.lifecycle.seeds import seed_for
from backend.migrate import migrate
from backend.settings import Settings

NOW = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)
TABLES = ("regions", "branches", "users", "business_lines", "lifecycle_template_versions", "projects",
          "project_stages", "project_milestones", "lifecycle_timers")


async def bulk(engine: Any, table: str, rows: list[dict[str, Any]]) -> None:
    """Setup inserts through the driver (Piccolo's adapters turn UUIDs and datetimes into SQLite text)."""
    if not rows:
        return
    columns = list(rows[0])
    if db.is_postgres():
        async with engine.pool.acquire() as connection:
            await connection.copy_records_to_table(table, records=[tuple(r.values()) for r in rows], columns=columns)
        return
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" for _ in columns)
    async with engine.write_lock:
        await engine.writer.execute("BEGIN IMMEDIATE")
        await engine.writer.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})",
                                        [tuple(r.values()) for r in rows])
        await engine.writer.execute("COMMIT")


async def populate(engine: Any, pending: int, due: int) -> list[uuid.UUID]:
    """One branch, 40 staff, `pending / 4` open milestones with four timers each; returns the due timers' ids."""
    def uid() -> uuid.UUID:
        return uuid.uuid4()

    at = NOW - dt.timedelta(days=3)
    region, branch, line, version = uid(), uid(), uid(), uid()
    await bulk(engine, "regions", [{"id": region, "code": "east", "name": "华东", "created_at": at, "updated_at": at,
                                    "version": 1}])
    await bulk(engine, "branches", [{"id": branch, "region": region, "code": "SH", "name": "上海浦东店",
                                     "timezone": "Asia/Shanghai", "created_at": at, "updated_at": at, "version": 1}])
    manager = uid()
    staff = [uid() for _ in range(40)]

    def user(user_id: uuid.UUID, name: str, role: str, supervisor: uuid.UUID | None) -> dict[str, Any]:
        return {"id": user_id, "username": name, "display_name": name, "password_hash": "x", "role": role,
                "branch": branch, "supervisor": supervisor, "email": "", "phone": "", "language": "zh",
                "is_active": True, "created_at": at, "updated_at": at, "version": 1}

    await bulk(engine, "users", [user(manager, "bm", "branch_manager", None)]
               + [user(u, f"legal{i}", "legal", manager) for i, u in enumerate(staff)])
    await bulk(engine, "business_lines", [{"id": line, "key": "real_estate", "name_zh": "房产交易",
                                           "name_en": "Real estate", "active": True, "created_at": at,
                                           "updated_at": at, "version": 1}])
    await bulk(engine, "lifecycle_template_versions", [{
        "id": version, "business_line": line, "number": 1, "definition": definitions.encode(seed_for("real_estate")),
        "created_at": at, "created_by": None, "note": "bench"}])
    milestones_count = pending // 4
    per_project = 100
    projects, stages, milestones, timers = [], [], [], []
    due_ids: list[uuid.UUID] = []
    for p in range(milestones_count // per_project):
        project, stage = uid(), uid()
        owner = staff[p % len(staff)]
        projects.append({"id": project, "branch": branch, "business_line": line, "client": None,
                         "title": f"项目 {p}", "description": "", "owner": owner, "manager": None,
                         "template_version": version, "stage_key": "signing", "status": "open", "contract_value": 0,
                         "collected_amount": 0, "opened_at": at, "closed_at": None, "stage_entered_at": at,
                         "next_due_at": at, "escalation_level": 0, "created_at": at, "updated_at": at, "version": 1})
        stages.append({"id": stage, "project": project, "branch": branch, "stage_key": "signing", "position": 2,
                       "owner": owner, "entered_at": at, "entered_by": owner, "due_at": at, "left_at": None,
                       "left_by": None, "outcome": "", "note": ""})
        for m in range(per_project):
            milestone = uid()
            number = p * per_project + m
            is_due = number < due
            deadline = NOW - dt.timedelta(minutes=5) if is_due else NOW + dt.timedelta(days=2 + number % 30)
            milestones.append({
                "id": milestone, "project": project, "branch": branch, "stage": stage, "stage_key": "signing",
                "key": f"m{m}", "position": m, "title_zh": "合同审核（法务）", "title_en": "Contract reviewed by legal",
                "owner": owner, "owner_rule": "legal", "auto": "", "state": "open", "due_at": deadline,
                "done_at": None, "done_by": None, "note": "", "escalation_level": 0, "created_at": at,
                "updated_at": at, "version": 1})
            for level, (kind, target, role, offset) in enumerate((
                ("reminder", "owner", "", dt.timedelta(hours=-4)), ("escalation", "supervisor", "", dt.timedelta(0)),
                ("escalation", "branch_manager", "", dt.timedelta(hours=24)),
                ("escalation", "role", "legal", dt.timedelta(hours=72)),
            )):
                timer = uid()
                fires_now = is_due and level == 1
                if fires_now:
                    due_ids.append(timer)
                timers.append({
                    "id": timer, "milestone": milestone, "project": project, "branch": branch, "kind": kind,
                    "level": level, "target": target, "target_role": role, "target_user": None,
                    "due_at": deadline + offset if not is_due or fires_now else NOW + dt.timedelta(days=1 + level),
                    "state": "pending", "fired_at": None, "cancelled_at": None, "worker": "", "created_at": at})
    for table, rows in (("projects", projects), ("project_stages", stages), ("project_milestones", milestones),
                        ("lifecycle_timers", timers)):
        for start in range(0, len(rows), 5000):
            await bulk(engine, table, rows[start:start + 5000])
    return due_ids


async def reset(engine: Any, due_ids: list[uuid.UUID], mark: int) -> None:
    """Put the due timers back to pending and remove what firing them wrote."""
    async with db.write_transaction():
        from backend.audit.tables import ChangeLog
        from backend.lifecycle.tables import Milestone, Timer
        from backend.projects.tables import Project
        from notifications.tables import InboxItem

        for start in range(0, len(due_ids), 500):
            chunk = due_ids[start:start + 500]
            await Timer.update({Timer.state: "pending", Timer.fired_at: None, Timer.worker: ""}).where(
                Timer.id.is_in(chunk))
            await InboxItem.delete().where(InboxItem.source_id.is_in(chunk))
        await ChangeLog.delete().where(ChangeLog.seq > mark)
        await Milestone.update({Milestone.escalation_level: 0}).where(Milestone.escalation_level > 0)
        await Project.update({Project.escalation_level: 0}).where(Project.escalation_level > 0)


RAW_RECIPIENTS = """
SELECT m.id, m.project, m.branch, m.owner, u.supervisor, m.title_zh, p.title AS project_title, p.owner AS project_owner
FROM project_milestones m JOIN users u ON u.id = m.owner JOIN projects p ON p.id = m.project
WHERE m.id IN ({ids})
"""


async def raw_tick(engine: Any, limit: int) -> int:
    """The baseline: the clock's claim statement and the same writes, as plain SQL in one transaction."""
    postgres = db.is_postgres()

    def marks(n: int, first: int = 1) -> list[str]:
        return [f"${i}" for i in range(first, first + n)] if postgres else ["?"] * n

    async def run(connection: Any) -> int:
        claimed = await claim(NOW, limit, "raw")
        milestone_ids = list({row["milestone"] for row in claimed})
        ids = [str(i) for i in milestone_ids] if not postgres else milestone_ids
        sql = RAW_RECIPIENTS.format(ids=", ".join(marks(len(ids))))
        if postgres:
            people = {r["id"]: r for r in await connection.fetch(sql, *ids)}
        else:
            cursor = await connection.execute(sql, ids)
            people = {uuid.UUID(str(r["id"])): r for r in await cursor.fetchall()}
        inbox, log = [], []
        for timer in claimed:
            row = people[timer["milestone"]]
            user = row["supervisor"]
            title = f"超时未办（第{timer['level']}级升级）：{row['title_zh']}"
            link = f"/projects/{row['project']}#milestone-{row['id']}"
            values = (uuid.uuid4(), user, "escalation", title, f"项目「{row['project_title']}」已超时", link,
                      str(row["project"]).replace("-", ""), "high", timer["id"], None, NOW)
            inbox.append(values if postgres else tuple(str(v) if isinstance(v, uuid.UUID) else v for v in values))
            changes = json.dumps({"before": {"state": "pending"}, "after": {"state": "fired", "to": [str(user)]}})
            entry = (NOW, None, "escalation", "lifecycle_timers", str(timer["id"]), changes,
                     row["branch"], row["owner"])
            log.append(entry if postgres else tuple(str(v) if isinstance(v, uuid.UUID) else v for v in entry))
        inbox_sql = ("INSERT INTO inbox_items (id, \"user\", kind, title, body, link, topic, urgency, source_id, "
                     f"read_at, created_at) VALUES ({', '.join(marks(11))})")
        log_sql = ("INSERT INTO change_log (at, actor_id, action, table_name, row_id, changes, branch_id, owner_id) "
                   f"VALUES ({', '.join(marks(8))})")
        level_sql = (f"UPDATE project_milestones SET escalation_level = 1 WHERE escalation_level < 1 AND id IN "
                     f"({', '.join(marks(len(ids)))}) RETURNING id")
        project_ids = list({people[i]["project"] for i in milestone_ids})
        projects = [str(i) for i in project_ids] if not postgres else project_ids
        project_sql = (f"UPDATE projects SET escalation_level = 1 WHERE escalation_level < 1 AND id IN "
                       f"({', '.join(marks(len(projects)))}) RETURNING id")
        await connection.executemany(inbox_sql, inbox)
        if postgres:
            raised = await connection.fetch(level_sql, *ids)
            raised_projects = await connection.fetch(project_sql, *projects)
        else:
            raised = await (await connection.execute(level_sql, ids)).fetchall()
            raised_projects = await (await connection.execute(project_sql, projects)).fetchall()
        level = json.dumps({"before": {"escalation_level": 0}, "after": {"escalation_level": 1}})
        by_id = {str(row["id"]): row for row in people.values()}
        by_project = {str(row["project"]): row for row in people.values()}
        for table, rows, source in (("project_milestones", raised, by_id), ("projects", raised_projects, by_project)):
            for row in rows:
                person = source[str(row["id"])]
                owner = person["owner"] if table == "project_milestones" else person["project_owner"]
                entry = (NOW, None, "escalate", table, str(row["id"]), level, person["branch"], owner)
                log.append(entry if postgres else tuple(str(v) if isinstance(v, uuid.UUID) else v for v in entry))
        await connection.executemany(log_sql, log)
        return len(claimed)

    async with db.write_transaction() as transaction:
        return await run(transaction.connection)


async def measure(settings: Settings, pending: int, due: int, runs: int) -> dict[str, Any]:
    from backend.audit.tables import ChangeLog
    from notifications.tables import InboxItem

    engine = db.engine_for(settings)
    db.bind(engine)
    await db.start(engine, 4)
    try:
        await migrate()
        started = time.perf_counter()
        due_ids = await populate(engine, pending, due)
        setup_s = time.perf_counter() - started
        mark = (await ChangeLog.select(ChangeLog.seq).order_by(ChangeLog.seq, ascending=False).first() or {"seq": 0}
                )["seq"]
        ticks, raws = [], []
        for _ in range(runs):
            started = time.perf_counter()
            fired = await fire_due_timers(NOW, limit=due, worker="bench")
            ticks.append(time.perf_counter() - started)
            items = await InboxItem.count().where(InboxItem.source_id.is_in(due_ids[:500]))
            new = ChangeLog.seq > mark
            logged = await ChangeLog.count().where(new & (ChangeLog.table_name == "lifecycle_timers"))
            escalated = await ChangeLog.count().where(new & (ChangeLog.action == "escalate"))
            assert fired == due and logged == due and items == min(500, due), (fired, logged, items)
            assert escalated == due + due // 100, escalated  # each milestone, and its project (100 per project)
            await reset(engine, due_ids, mark)
            started = time.perf_counter()
            fired = await raw_tick(engine, due)
            raws.append(time.perf_counter() - started)
            assert fired == due, fired
            await reset(engine, due_ids, mark)
        tick_s, raw_s = statistics.median(ticks), statistics.median(raws)
        return {"pending": pending, "due": due, "setup_s": round(setup_s, 2), "tick_s": round(tick_s, 4),
                "raw_s": round(raw_s, 4), "ratio": round(tick_s / raw_s, 2), "ticks": [round(t, 4) for t in ticks],
                "raws": [round(t, 4) for t in raws]}
    finally:
        await db.stop(engine)


async def postgres_reachable(url: str) -> bool:
    try:
        connection = await asyncpg.connect(url, timeout=3)
    except (TimeoutError, OSError, asyncpg.PostgresError):
        return False
    await connection.close()
    return True


async def admin(url: str, statement: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    pending, due = (10_000, 1_000) if args.quick else (args.pending, args.due)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as work:
        results["sqlite"] = await measure(Settings(env="test", data_dir=Path(work)), pending, due, args.runs)
        print(f"sqlite   : tick {results['sqlite']['tick_s']:.3f} s, raw {results['sqlite']['raw_s']:.3f} s, "
              f"ratio {results['sqlite']['ratio']}", flush=True)
    if not args.no_postgres and await postgres_reachable(args.postgres):
        name = f"ipms_bench_clock_{uuid.uuid4().hex[:8]}"
        base = args.postgres.rsplit("/", 1)[0]
        await admin(args.postgres, f'CREATE DATABASE "{name}"')
        try:
            settings = Settings(env="test", data_dir=Path(tempfile.gettempdir()), database_url=f"{base}/{name}")
            results["postgres"] = await measure(settings, pending, due, args.runs)
            print(f"postgres : tick {results['postgres']['tick_s']:.3f} s, raw {results['postgres']['raw_s']:.3f} s, "
                  f"ratio {results['postgres']['ratio']}", flush=True)
        finally:
            await admin(args.postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    worst = max(results.values(), key=lambda r: r["ratio"])
    return {"bench": "clock", "tick_s": max(r["tick_s"] for r in results.values()),
            "raw_s": max(r["raw_s"] for r in results.values()), "ratio": worst["ratio"], "pending": pending,
            "due": due, **results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 pending timers: well under a minute")
    parser.add_argument("--pending", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main_async(args))))


if __name__ == "__main__":
    main()
