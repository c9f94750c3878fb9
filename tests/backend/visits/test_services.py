"""Scheduling visits: a clash with another of the agent's planned visits is found before saving."""

import datetime as dt

import pytest

from backend.visits import services
from tests.support.factories import actor

pytestmark = pytest.mark.anyio
NINE = dt.datetime(2030, 3, 4, 1, 0, tzinfo=dt.UTC)  # 09:00 in Shanghai


async def test_overlapping_planned_visits_of_the_same_agent_clash(org):
    agent = actor(org.a.users["agent1"])
    client = org.a.records["agent1"]["client"]
    first = await services.VISITS.create(agent, {"client_id": client.id, "address": "张江路1号",
                                                 "scheduled_at": NINE, "duration_minutes": 60})
    clash = await services.clashes(agent, agent.id, NINE + dt.timedelta(minutes=30), 45)
    assert [v.id for v in clash] == [first.id]
    assert await services.clashes(agent, agent.id, NINE + dt.timedelta(minutes=60), 30) == []  # back to back
    assert await services.clashes(agent, agent.id, NINE - dt.timedelta(minutes=30), 30) == []
    assert await services.clashes(agent, agent.id, NINE, 60, except_id=first.id) == []  # its own reschedule
    # Another agent's visit at the same time is theirs; a cancelled one no longer clashes.
    assert await services.clashes(actor(org.a.users["agent2"]), org.a.users["agent2"].id, NINE, 60) == []
    await services.update_visit(agent, first.id, first.version, {"status": "cancelled"})
    assert await services.clashes(agent, agent.id, NINE, 60) == []


async def test_a_visit_is_rescheduled_and_cancelled(org):
    agent = actor(org.a.users["agent1"])
    visit = org.a.records["agent1"]["visit"]
    moved = await services.update_visit(agent, visit.id, 1, {"scheduled_at": NINE})
    assert moved.scheduled_at == NINE
    cancelled = await services.update_visit(agent, visit.id, moved.version, {"status": "cancelled"})
    assert cancelled.status == "cancelled"
