"""Two OS processes run the clock against one database: every timer fires exactly once, and both take part."""

import asyncio
import datetime as dt
import json
import os
import sys
from pathlib import Path

import pytest

from backend.lifecycle.tables import Milestone, StageEntry, Timer
from backend.settings import Settings
from notifications.tables import InboxItem
from tests.support.factories import make_org
from tests.support.lifecycle import new_project

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[3]
ROUNDS, TIMERS, BATCH = 20, 1000, 50


async def start_worker(name: str, settings: Settings) -> asyncio.subprocess.Process:
    env = {**os.environ, "IPMS_ENV": "test", "IPMS_DATA_DIR": str(settings.data_dir),
           "IPMS_DATABASE_URL": settings.database_url, "IPMS_CLOCK_ENABLED": "false", "PYTHONPATH": str(ROOT)}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.support.clock_worker", name, cwd=ROOT, env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    assert json.loads(await asyncio.wait_for(process.stdout.readline(), 60)) == {"ready": name}
    return process


async def test_two_processes_fire_every_timer_exactly_once(database):
    org = await make_org()
    project = await new_project(org)
    entry = await StageEntry.select().where(StageEntry.project == project["id"]).first()
    legal = org.a.users["legal"]
    milestones = [Milestone(project=project["id"], branch=org.a.branch.id, stage=entry["id"], stage_key="intake",
                            key=f"race{i}", title_zh="竞争", title_en="Race", owner=legal.id,
                            due_at=entry["entered_at"])
                  for i in range(TIMERS)]
    for start in range(0, TIMERS, 400):
        await Milestone.insert(*milestones[start:start + 400])
    workers = {name: await start_worker(name, database) for name in ("clock-a", "clock-b")}
    fired_by = {name: 0 for name in workers}
    base = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
    try:
        for round_ in range(ROUNDS):
            now = base + dt.timedelta(hours=round_)
            timers = [Timer(milestone=m.id, project=project["id"], branch=org.a.branch.id, kind="escalation", level=1,
                            target="supervisor", due_at=now - dt.timedelta(minutes=i % 50))
                      for i, m in enumerate(milestones)]
            for start in range(0, TIMERS, 400):
                await Timer.insert(*timers[start:start + 400])
            command = (json.dumps({"now": now.isoformat(), "batch": BATCH}) + "\n").encode()
            for process in workers.values():
                process.stdin.write(command)
            for process in workers.values():
                await process.stdin.drain()
            answers = {name: json.loads(await asyncio.wait_for(p.stdout.readline(), 120))["fired"]
                       for name, p in workers.items()}
            assert sum(answers.values()) == TIMERS, (round_, answers)
            for name, count in answers.items():
                fired_by[name] += count
    finally:
        for process in workers.values():
            process.stdin.close()
            await asyncio.wait_for(process.wait(), 60)
    assert all(count > 0 for count in fired_by.values()), fired_by  # the race really ran
    assert await Timer.count().where((Timer.state == "pending") & (Timer.due_at <= now)) == 0
    by_worker = {r["worker"]: r["n"] for r in await Timer.raw(
        "SELECT worker, COUNT(*) AS n FROM lifecycle_timers WHERE state = 'fired' GROUP BY worker")}
    assert by_worker == fired_by
    # Exactly once, counted where it matters: one inbox item per timer (each has one recipient).
    counts = await InboxItem.raw(
        "SELECT source_id, COUNT(*) AS n FROM inbox_items WHERE kind = 'escalation' GROUP BY source_id")
    assert len(counts) == ROUNDS * TIMERS
    assert {row["n"] for row in counts} == {1}
