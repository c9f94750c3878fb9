"""The batch path for notes (`backend.sync.notes`) stores exactly what `create_note` stores, and falls back to it."""

from __future__ import annotations

import json
import uuid
from typing import Any

import msgspec
import pytest

from backend import db
from backend.accounts.services import touch_device
from backend.audit.tables import ChangeLog
from backend.sync import notes, operations, services
from backend.sync.schemas import PushOperation
from backend.visits.services import create_note
from backend.visits.tables import Note
from tests.support.factories import actor, make_org

pytestmark = pytest.mark.anyio
GENERATED = {"id", "created_at", "updated_at"}


def _op(body: str, **parent: Any) -> PushOperation:
    data = {"id": str(uuid.uuid4()), "body": body, **{f"{k}_id": str(v.id) for k, v in parent.items()}}
    return PushOperation(op_id=uuid.uuid4(), kind="note.create", data=data)


async def _stored(note_ids: list[Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(note row, its change-log row), with generated values left out, in the order given."""
    out = []
    for note_id in note_ids:
        row = await Note.select().where(Note.id == note_id).first()
        log = await ChangeLog.select().where(ChangeLog.row_id == str(note_id)).first()
        changes = log["changes"] if isinstance(log["changes"], dict) else json.loads(log["changes"])
        changes["after"] = {k: v for k, v in changes["after"].items() if k not in GENERATED}
        out.append(({k: v for k, v in row.items() if k not in GENERATED},
                    {"actor_id": log["actor_id"], "action": log["action"], "table_name": log["table_name"],
                     "branch_id": log["branch_id"], "owner_id": log["owner_id"], "changes": changes}))
    return out


async def test_batch_path_stores_what_create_note_stores(database, monkeypatch) -> None:
    org = await make_org()
    own = org.a.records["agent1"]
    agent = actor(org.a.users["agent1"])
    device_id = uuid.uuid4()
    await touch_device(agent, device_id, "phone")
    parents = [{"visit": own["visit"]}, {"client": own["client"]}, {"project": own["project"]}]
    batch = [_op(f"批量{i}", **parent) for i, parent in enumerate(parents)]

    async def not_one_by_one(*_: Any) -> None:
        raise AssertionError("a plain run of notes must take the batch path")

    monkeypatch.setitem(operations.HANDLERS, "note.create", not_one_by_one)
    reply = await services.push(agent, device_id, batch)
    monkeypatch.undo()
    assert [r.status for r in reply.results] == ["applied"] * 3
    singles = [await create_note(agent, {"body": f"批量{i}", **{f"{k}_id": v.id for k, v in parent.items()}})
               for i, parent in enumerate(parents)]
    assert await _stored([uuid.UUID(op.data["id"]) for op in batch]) == await _stored([n.id for n in singles])
    answered = [{k: v for k, v in r.record.items() if k not in GENERATED} for r in reply.results]
    created = [{k: v for k, v in msgspec.to_builtins(n).items() if k not in GENERATED} for n in singles]
    assert answered == created  # the same API record


async def test_unusual_ops_in_a_run_keep_their_place_and_answers(database) -> None:
    org = await make_org()
    own, other = org.a.records["agent1"], org.a.records["agent2"]
    agent = actor(org.a.users["agent1"])
    device_id = uuid.uuid4()
    await touch_device(agent, device_id, "phone")
    first = _op("第一", visit=own["visit"])
    await services.push(agent, device_id, [first])
    same_note = PushOperation(op_id=uuid.uuid4(), kind="note.create", data=dict(first.data))
    batch = [_op("甲", visit=own["visit"]), first, _op("乙", visit=other["visit"]), same_note,
             _op("丙", client=own["client"]), _op("两个上级", visit=own["visit"], client=own["client"])]
    reply = await services.push(agent, device_id, batch)
    assert [r.op_id for r in reply.results] == [op.op_id for op in batch]
    assert [r.status for r in reply.results] == ["applied", "duplicate", "rejected", "applied", "applied",
                                                        "rejected"]
    assert reply.results[2].error.error == "not_found"
    assert reply.results[3].record["id"] == first.data["id"]  # create_note found the note it made before
    assert reply.results[5].error.field == "client_id"
    assert await Note.count().where(Note.body.is_in(["第一", "甲", "丙"])) == 3


async def test_refused_batch_is_taken_one_by_one(database, monkeypatch) -> None:
    org = await make_org()
    own = org.a.records["agent1"]
    agent = actor(org.a.users["agent1"])
    device_id = uuid.uuid4()
    await touch_device(agent, device_id, "phone")
    real = notes.create_many

    async def half_done_then_refused(*args: Any) -> Any:
        async with db.write_transaction():  # create_many's transaction joins this one
            await real(*args)  # everything written, then refused: the transaction must leave nothing behind
            raise notes.BatchRefused("test")

    monkeypatch.setattr(notes, "create_many", half_done_then_refused)
    batch = [_op(f"逐条{i}", visit=own["visit"]) for i in range(4)]
    log_before = await ChangeLog.count()
    reply = await services.push(agent, device_id, batch)
    assert [r.status for r in reply.results] == ["applied"] * 4
    assert await Note.count().where(Note.body.like("逐条%")) == 4
    assert await ChangeLog.count() - log_before == 4


async def test_an_op_twice_in_one_batch_is_applied_once(database) -> None:
    org = await make_org()
    agent = actor(org.a.users["agent1"])
    device_id = uuid.uuid4()
    await touch_device(agent, device_id, "phone")
    visit = org.a.records["agent1"]["visit"]
    twice, other = _op("两次", visit=visit), _op("另一条", visit=visit)
    reply = await services.push(agent, device_id, [twice, twice, other])
    assert [r.status for r in reply.results] == ["applied", "duplicate", "applied"]
    assert reply.results[0].record == reply.results[1].record
    assert await Note.count().where(Note.body == "两次") == 1
