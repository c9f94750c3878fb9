"""`POST /api/sync/push`: per-operation answers, exactly once across lost answers and cancelled requests."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from backend import db
from backend.app import create_litestar
from backend.audit.tables import ChangeLog
from backend.sync import notes as sync_notes
from backend.sync.tables import SyncOperation
from backend.visits.tables import Note, Visit
from tests.support.factories import Caller, caller, make_org, register_device
from tests.support.sync import note_op

pytestmark = pytest.mark.anyio


async def _notes_on(visit_id: Any) -> int:
    return await Note.count().where(Note.visit == visit_id)


async def test_push_answers_each_operation(api) -> None:
    org = await make_org()
    own, other = org.a.records["agent1"], org.a.records["agent2"]
    me = await caller(api, org.a.users["agent1"])
    device_id = await register_device(me)
    log_before = await ChangeLog.count()
    ops = [
        note_op("带看顺利", visit=own["visit"]),
        {"op_id": str(uuid.uuid4()), "kind": "visit.update",
         "data": {"id": str(own["visit"].id), "version": 1, "status": "done", "summary": "客户满意"}},
        {"op_id": str(uuid.uuid4()), "kind": "client.update",
         "data": {"id": str(own["client"].id), "version": 3, "phone": "13900000000"}},  # stale base version
        note_op("别人的带看", visit=other["visit"]),  # not visible to agent1
        {"op_id": str(uuid.uuid4()), "kind": "visit.update", "data": {"id": str(own["visit"].id), "version": 0}},
        {"op_id": str(uuid.uuid4()), "kind": "visit.delete", "data": {"id": str(own["visit"].id)}},
        {"op_id": str(uuid.uuid4()), "kind": "opportunity.move",
         "data": {"id": str(own["opportunity"].id), "version": 1, "state": "following"}},
        {"op_id": str(uuid.uuid4()), "kind": "opportunity.move",
         "data": {"id": str(own["opportunity"].id), "version": 2, "state": "won"}},
        {"op_id": str(uuid.uuid4()), "kind": "opportunity.move",  # won is final: a rule, not a stale version
         "data": {"id": str(own["opportunity"].id), "version": 3, "state": "lost", "lost_reason": "x"}},
    ]
    reply = await me.post("/api/sync/push", json={"device_id": device_id, "ops": ops})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    statuses = [r["status"] for r in body["results"]]
    assert statuses == ["applied", "applied", "conflict", "rejected", "rejected", "rejected", "applied", "applied",
                        "rejected"]
    assert [r["op_id"] for r in body["results"]] == [op["op_id"] for op in ops]
    assert (body["applied"], body["conflict"], body["rejected"], body["duplicate"]) == (4, 1, 4, 0)
    note, visit, conflict, hidden, invalid, unknown = body["results"][:6]
    assert note["record"]["id"] == ops[0]["data"]["id"] and note["record"]["visit_id"] == str(own["visit"].id)
    assert visit["record"]["status"] == "done" and visit["record"]["version"] == 2
    assert conflict["error"]["field"] == "version" and conflict["current"]["version"] == 1
    assert conflict["current"]["phone"] == "13800000000"  # the server copy, to show beside the user's
    assert hidden["error"]["error"] == "not_found" and hidden["error"]["field"] == "visit_id"
    assert invalid["error"]["error"] == "invalid" and invalid["error"]["field"] == "version"
    assert unknown["error"]["error"] == "invalid" and unknown["error"]["field"] == "kind"
    assert body["results"][8]["error"]["field"] == "state"
    # One change-log row per changed record: the note, the visit, two opportunity moves.
    assert await ChangeLog.count() - log_before == 4
    assert await SyncOperation.count() == 4  # only what took effect holds its op id


async def test_push_conflict_is_reported_with_the_server_copy_and_nothing_is_lost(api) -> None:
    org = await make_org()
    visit = org.a.records["agent1"]["visit"]
    me = await caller(api, org.a.users["agent1"])
    manager = await caller(api, org.a.users["branch_manager"])
    device_id = await register_device(me)
    edited = await manager.patch(f"/api/visits/{visit.id}", json={"version": 1, "summary": "经理的总结"})
    assert edited.status_code == 200
    mine = {"op_id": str(uuid.uuid4()), "kind": "visit.update",
            "data": {"id": str(visit.id), "version": 1, "summary": "我的总结"}}
    first = (await me.post("/api/sync/push", json={"device_id": device_id, "ops": [mine]})).json()["results"][0]
    assert first["status"] == "conflict" and first["current"]["summary"] == "经理的总结"
    # The user keeps theirs: the same change, now based on the server's version, under a new op id.
    again = {**mine, "op_id": str(uuid.uuid4()), "data": {**mine["data"], "version": first["current"]["version"]}}
    second = (await me.post("/api/sync/push", json={"device_id": device_id, "ops": [again]})).json()["results"][0]
    assert second["status"] == "applied" and second["record"]["summary"] == "我的总结"


def _dropping(app: Any) -> Any:
    """The ASGI app runs to the end (the server commits), then the connection drops before any byte of the answer
    reaches the client."""

    async def dropped(scope: Any, receive: Any, send: Any) -> None:
        async def swallow(message: Any) -> None:
            return None

        await app(scope, receive, swallow)
        if scope["type"] == "http":
            raise ConnectionResetError("connection dropped after the server answered")

    return dropped


async def test_push_answer_lost_after_commit_is_answered_duplicate(database) -> None:
    org = await make_org()
    visit = org.a.records["agent1"]["visit"]
    app = create_litestar(database, run_migrations=False, engine=db.current_engine())
    transport = httpx.ASGITransport(app=_dropping(app))
    async with (httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as flaky,
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver.local") as good):
        me = await caller(good, org.a.users["agent1"])
        device_id = await register_device(me)
        batch = {"device_id": device_id, "ops": [note_op(f"离线第{i}条", visit=visit) for i in range(5)]}
        before, log_before = await _notes_on(visit.id), await ChangeLog.count()
        with pytest.raises(ConnectionResetError):
            await Caller(flaky, me.token, me.csrf).post("/api/sync/push", json=batch)
        assert await _notes_on(visit.id) == before + 5  # the server did commit
        retry = (await me.post("/api/sync/push", json=batch)).json()
    assert [r["status"] for r in retry["results"]] == ["duplicate"] * 5
    assert [r["record"]["id"] for r in retry["results"]] == [op["data"]["id"] for op in batch["ops"]]
    assert await _notes_on(visit.id) == before + 5
    assert await ChangeLog.count() - log_before == 5


async def test_push_cancelled_midway_keeps_what_committed_and_the_retry_finishes(api, monkeypatch) -> None:
    """The client gives up while the server is inside the batch: the edit before committed on its own (the retry
    answers it `duplicate`), the run of notes had not (rolled back whole: the retry applies it), nothing doubles."""
    org = await make_org()
    visit = org.a.records["agent1"]["visit"]
    me = await caller(api, org.a.users["agent1"])
    device_id = await register_device(me)
    edit = {"op_id": str(uuid.uuid4()), "kind": "visit.update",
            "data": {"id": str(visit.id), "version": 1, "status": "done"}}
    batch = {"device_id": device_id, "ops": [edit, *(note_op(f"第{i}条", visit=visit) for i in range(3))]}
    logged, never = asyncio.Event(), asyncio.Event()
    real = sync_notes.record_changes

    async def logs_then_stalls(changes: list[dict[str, Any]]) -> None:
        await real(changes)
        logged.set()
        await never.wait()  # notes and change-log rows written, not committed

    monkeypatch.setattr(sync_notes, "record_changes", logs_then_stalls)
    before, log_before = await _notes_on(visit.id), await ChangeLog.count()
    request = asyncio.create_task(me.post("/api/sync/push", json=batch))
    await logged.wait()
    request.cancel()
    with pytest.raises(asyncio.CancelledError):
        await request
    assert await _notes_on(visit.id) == before and await ChangeLog.count() - log_before == 1  # the edit only
    monkeypatch.undo()
    retry = (await me.post("/api/sync/push", json=batch)).json()
    assert [r["status"] for r in retry["results"]] == ["duplicate", "applied", "applied", "applied"]
    assert retry["results"][0]["record"]["status"] == "done"
    assert await _notes_on(visit.id) == before + 3 and await ChangeLog.count() - log_before == 4
    assert (await Visit.select(Visit.version).where(Visit.id == visit.id).first())["version"] == 2


async def test_note_retried_under_a_new_op_id_is_not_doubled(api) -> None:
    org = await make_org()
    visit = org.a.records["agent1"]["visit"]
    me = await caller(api, org.a.users["agent1"])
    device_id = await register_device(me)
    op = note_op("只一次", visit=visit)
    first = (await me.post("/api/sync/push", json={"device_id": device_id, "ops": [op]})).json()
    replay = {**op, "op_id": str(uuid.uuid4())}  # e.g. an outbox rebuilt from the note itself
    second = (await me.post("/api/sync/push", json={"device_id": device_id, "ops": [replay, op]})).json()
    assert [r["status"] for r in first["results"]] == ["applied"]
    assert [r["status"] for r in second["results"]] == ["applied", "duplicate"]
    assert await Note.count().where(Note.id == op["data"]["id"]) == 1


async def test_op_id_of_another_user_is_refused(api) -> None:
    org = await make_org()
    a, b = await caller(api, org.a.users["agent1"]), await caller(api, org.a.users["agent2"])
    op = note_op("甲的", visit=org.a.records["agent1"]["visit"])
    await a.post("/api/sync/push", json={"device_id": await register_device(a), "ops": [op]})
    stolen = note_op("乙的", visit=org.a.records["agent2"]["visit"], op_id=op["op_id"])
    reply = (await b.post("/api/sync/push", json={"device_id": await register_device(b), "ops": [stolen]})).json()
    assert reply["results"][0]["status"] == "rejected" and reply["results"][0]["error"]["field"] == "op_id"
    assert "record" not in reply["results"][0]


async def test_push_envelope_is_validated_as_a_whole(api) -> None:
    org = await make_org()
    me = await caller(api, org.a.users["agent1"])
    device_id = await register_device(me)
    bad = await me.post("/api/sync/push", json={"device_id": device_id, "ops": [{"op_id": "nope", "kind": "x"}]})
    assert bad.status_code == 422
    too_many = [note_op("x", visit=org.a.records["agent1"]["visit"]) for _ in range(251)]
    assert (await me.post("/api/sync/push", json={"device_id": device_id, "ops": too_many})).status_code == 422
    assert await Visit.count() == 4  # untouched


async def test_retry_overlapping_the_first_request_applies_each_op_once(database) -> None:
    """The client timed out and sent the batch again while the server was still on it: both requests walk the
    same ops; each op is applied by one and answered duplicate by the other."""
    from backend.accounts.services import touch_device
    from backend.sync import services
    from backend.sync.schemas import PushOperation
    from tests.support.factories import actor

    org = await make_org()
    own = org.a.records["agent1"]
    agent = actor(org.a.users["agent1"])
    device_id = uuid.uuid4()
    await touch_device(agent, device_id, "phone")
    ops = [PushOperation(op_id=uuid.UUID(op["op_id"]), kind=op["kind"], data=op["data"])
           for op in (note_op(f"重叠{i}", visit=own["visit"]) for i in range(20))]
    ops.insert(10, PushOperation(op_id=uuid.uuid4(), kind="visit.update",
                                 data={"id": str(own["visit"].id), "version": 1, "summary": "一次"}))
    first, second = await asyncio.gather(services.push(agent, device_id, ops), services.push(agent, device_id, ops))
    for one, other in zip(first.results, second.results, strict=True):
        assert sorted([one.status, other.status]) == ["applied", "duplicate"], (one, other)
        assert one.record == other.record
    assert await _notes_on(own["visit"].id) == 1 + 20  # the factory's note and these
    assert (await Visit.select(Visit.version).where(Visit.id == own["visit"].id).first())["version"] == 2
