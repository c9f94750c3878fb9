"""Every mutating route announces each change it commits: one live event per change-log row, after the commit."""

from __future__ import annotations

import pytest

from backend.audit.tables import ChangeLog
from backend.live import services as live
from tests.backend.test_audit import MUTATIONS
from tests.support.factories import caller, make_org

pytestmark = pytest.mark.anyio


def test_every_mutating_route_is_walked() -> None:
    """The routes below are test_audit's list, which its own test keeps equal to the app's route table."""
    assert len(MUTATIONS) > 40


@pytest.mark.parametrize("route", sorted(MUTATIONS), ids=lambda r: f"{r[0]} {r[1]}")
async def test_mutation_announces_every_change_it_logs(api, route: tuple[str, str]) -> None:
    org = await make_org()
    who, call, expected = MUTATIONS[route]
    me = await caller(api, org.all_users()[who])
    last = await ChangeLog.select(ChangeLog.seq).order_by(ChangeLog.seq, ascending=False).first()
    with live.subscribe([("*", None)]) as subscription:
        reply = await call(org, me, api)
        events = subscription.drain()  # the request has answered: its transaction committed and published
    assert reply.status_code < 300 or (expected == 0 and reply.status_code == 409), reply.text
    logged = await ChangeLog.select(ChangeLog.table_name, ChangeLog.row_id, ChangeLog.action).where(
        ChangeLog.seq > (last["seq"] if last else 0))
    announced = [(e.resource, e.id, e.action) for e in events]
    for row in logged:
        assert (row["table_name"], row["row_id"], row["action"]) in announced, (row, announced)
    assert len(logged) == expected  # (some steps set up records first, their change-log rows removed again)
    for event in events:
        assert set(event.scope) <= set(live.SCOPE_KEYS) and all(isinstance(v, str) for v in event.scope.values())
