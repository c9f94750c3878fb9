"""Property: whatever the delivery order, replays and concurrent edits, each operation takes effect exactly once,
and every edit that does not take effect is answered `conflict` with the server's copy.

Each example builds its own visit, client and devices in one organisation per test, so examples never share
records; devices push random slices of their outboxes (replays included), sometimes two devices at once, while
a branch manager edits the same records through the ordinary services.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections import defaultdict
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.accounts.services import touch_device
from backend.audit.tables import ChangeLog
from backend.clients.services import update_client
from backend.clients.tables import Client
from backend.records import update_record
from backend.sync import services
from backend.sync.schemas import PushOperation
from backend.sync.tables import SyncOperation
from backend.visits.services import VISIT_SPEC
from backend.visits.tables import Note, Visit
from tests.support.factories import Org, actor, make_org

pytestmark = pytest.mark.anyio

DEVICES = 3
# One queued operation: (kind, base version for edits); notes carry no version.
queued = st.one_of(
    st.just(("note.create", 0)),
    st.tuples(st.sampled_from(["visit.update", "client.update"]), st.integers(min_value=1, max_value=4)),
)
step = st.one_of(
    # device, first op, how many, and whether a second device pushes at the same time
    st.tuples(st.just("push"), st.integers(0, DEVICES - 1), st.integers(0, 20), st.integers(1, 6), st.booleans()),
    st.tuples(st.just("edit"), st.sampled_from(["visit", "client"])),  # someone else edits online meanwhile
)
scenario = st.tuples(
    st.lists(st.lists(queued, max_size=6), min_size=DEVICES, max_size=DEVICES),  # each device's outbox
    st.lists(step, max_size=10),
    st.permutations(range(DEVICES)),  # the order of the final drain
)


@pytest.fixture
async def org(database: Any) -> Org:
    return await make_org()


def _outbox(kinds: list[tuple[str, int]], visit: Any, client: Any, device: int) -> list[PushOperation]:
    ops = []
    for index, (kind, version) in enumerate(kinds):
        if kind == "note.create":
            data: dict[str, Any] = {"id": str(uuid.uuid4()), "body": f"设备{device}第{index}条", "visit_id": str(visit)}
        elif kind == "visit.update":
            data = {"id": str(visit), "version": version, "summary": f"设备{device}:{index}"}
        else:
            data = {"id": str(client), "version": version, "area_preference": f"设备{device}:{index}"}
        ops.append(PushOperation(op_id=uuid.uuid4(), kind=kind, data=data))
    return ops


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scenario=scenario)
async def test_every_operation_takes_effect_exactly_once(org: Org, scenario: Any) -> None:
    outboxes_spec, steps, drain_order = scenario
    agent, manager = actor(org.a.users["agent1"]), actor(org.a.users["branch_manager"])
    client = Client(branch=org.a.branch.id, owner=agent.id, name="属性测试")
    await Client.insert(client)
    visit = Visit(branch=org.a.branch.id, owner=agent.id, client=client.id, address="世纪大道1号",
                  scheduled_at=dt.datetime.now(dt.UTC))
    await Visit.insert(visit)
    devices = [uuid.uuid4() for _ in range(DEVICES)]
    for device_id in devices:
        await touch_device(agent, device_id, "phone")
    outboxes = [_outbox(kinds, visit.id, client.id, i) for i, kinds in enumerate(outboxes_spec)]
    answers: list[tuple[PushOperation, dict[str, Any]]] = []
    online_edits = {"visit": 0, "client": 0}

    async def deliver(device: int, start: int, count: int) -> None:
        outbox = outboxes[device]
        if not outbox:
            return
        batch = [outbox[(start + k) % len(outbox)] for k in range(count)]  # wraps: replays within a batch too
        reply = await services.push(agent, devices[device], batch)
        answers.extend(zip(batch, [msgspec.to_builtins(r, builtin_types=(uuid.UUID,)) for r in reply.results],
                           strict=True))

    for action in steps:
        if action[0] == "edit":
            target = action[1]
            if target == "visit":
                current = await Visit.select(Visit.version).where(Visit.id == visit.id).first()
                await update_record(manager, VISIT_SPEC, visit.id, current["version"], {"summary": "经理改"})
            else:
                current = await Client.select(Client.version).where(Client.id == client.id).first()
                await update_client(manager, client.id, current["version"], {"area_preference": "经理改"})
            online_edits[target] += 1
            continue
        _, device, start, count, together = action
        if together:
            other = (device + 1) % DEVICES
            await asyncio.gather(deliver(device, start, count), deliver(other, start + 1, count))
        else:
            await deliver(device, start, count)
    for device in drain_order:  # back online at last: every outbox is sent once more, whole and in order
        await deliver(device, 0, len(outboxes[device]))

    every_op = {op.op_id: op for outbox in outboxes for op in outbox}
    by_op: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    for op, answer in answers:
        assert answer["op_id"] == op.op_id and answer["kind"] == op.kind
        by_op[op.op_id].append(answer)
    applied = {op_id for op_id, seen in by_op.items() if any(a["status"] == "applied" for a in seen)}
    for op_id, op in every_op.items():
        seen = by_op[op_id]
        assert seen, "every queued operation was answered"
        statuses = [a["status"] for a in seen]
        assert statuses.count("applied") <= 1
        assert set(statuses) <= {"applied", "duplicate", "conflict"}, seen
        if op.kind == "note.create":
            assert op_id in applied and "conflict" not in statuses
        if op_id in applied:
            first = statuses.index("applied")
            assert "conflict" not in statuses[first:], "after it took effect, a replay is a duplicate"
            record = seen[first]["record"]
            assert all(a["record"] == record for a in seen[first:] if a["status"] == "duplicate")
        else:
            assert "duplicate" not in statuses
            for answer in seen:  # reported with the server's copy, which differs from the base the device had
                assert answer["error"]["field"] == "version" and str(answer["current"]["id"]) == op.data["id"]
                assert answer["current"]["version"] != op.data["version"]

    # The database holds exactly the operations that were answered applied, once each.
    notes = {op.data["id"] for op in every_op.values() if op.kind == "note.create"}
    assert {str(n["id"]) for n in await Note.select(Note.id).where(Note.visit == visit.id)} == notes
    assert {r["id"] for r in await SyncOperation.select(SyncOperation.id).where(
        SyncOperation.id.is_in(list(every_op) or [uuid.uuid4()]))} == applied
    for table, record_id, kind, edits in ((Visit, visit.id, "visit.update", online_edits["visit"]),
                                         (Client, client.id, "client.update", online_edits["client"])):
        applied_edits = sum(1 for op_id in applied if every_op[op_id].kind == kind)
        row = await table.select(table.version).where(table.id == record_id).first()
        assert row["version"] == 1 + edits + applied_edits
        logged = await ChangeLog.count().where((ChangeLog.row_id == str(record_id)) & (ChangeLog.action == "update"))
        assert logged == edits + applied_edits
