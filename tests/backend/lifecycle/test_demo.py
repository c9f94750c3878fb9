"""`ipms demo` brings a year of lifecycle history whose pieces agree with each other."""

import datetime as dt
import decimal
import itertools

import pytest

from backend.demo import seed_demo
from backend.lifecycle.clock import fire_due_timers
from backend.lifecycle.tables import Collection, Milestone, StageEntry, Timer
from backend.projects.tables import Project
from notifications.tables import InboxItem

pytestmark = pytest.mark.anyio


async def test_demo_has_a_year_of_consistent_lifecycle_history(database):
    now = dt.datetime.now(dt.UTC)
    summary = await seed_demo(now=now)
    assert summary.counts["stages"] > 300 and summary.counts["collections"] > 20
    projects = await Project.select()
    entries = await StageEntry.select().order_by(StageEntry.entered_at)
    milestones = await Milestone.select()
    collections = await Collection.select()
    assert min(p["opened_at"] for p in projects) < now - dt.timedelta(days=200)
    assert all(e["entered_at"] <= now and (e["left_at"] is None or e["left_at"] <= now) for e in entries)
    statuses = {p["status"] for p in projects}
    assert statuses == {"open", "won", "lost"}
    for project in projects:
        mine = [e for e in entries if e["project"] == project["id"]]
        assert project["template_version"] is not None and mine[-1]["stage_key"] == project["stage_key"]
        assert all(a["left_at"] <= b["entered_at"] for a, b in itertools.pairwise(mine))
        assert (mine[-1]["left_at"] is None) == (project["status"] == "open")
        paid = sum((decimal.Decimal(str(c["amount"])) for c in collections if c["project"] == project["id"]),
                   decimal.Decimal(0))
        assert paid.quantize(decimal.Decimal("0.01")) == decimal.Decimal(str(project["collected_amount"])).quantize(
            decimal.Decimal("0.01"))
        if project["status"] == "won" or project["stage_key"] == "review":
            assert paid == decimal.Decimal(str(project["contract_value"])).quantize(decimal.Decimal("0.01"))
    open_now = [m for m in milestones if m["state"] == "open"]
    overdue = [m for m in open_now if m["due_at"] < now]
    assert len(overdue) >= 10 and len(open_now) - len(overdue) >= 10  # some late, some on time
    assert sum(1 for m in milestones if m["escalation_level"] > 0) >= 10
    escalated = {p["id"] for p in projects if p["escalation_level"] > 0}
    assert escalated and escalated <= {m["project"] for m in overdue}
    assert await InboxItem.count().where(InboxItem.kind == "escalation") >= 10
    assert await InboxItem.count().where(InboxItem.read_at.is_null()) >= 10
    # Nothing is left for the clock to catch up on, and the future is still planned.
    assert await fire_due_timers(now) == 0
    assert await Timer.count().where((Timer.state == "pending") & (Timer.due_at > now)) >= 50
