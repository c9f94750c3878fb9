"""Capture time through the outbox (`backend.sync.services.correct_times`): a note queued offline keeps the time
the phone wrote it, corrected by the batch's clock offset; a clock off by more than 10 minutes is flagged, and a
note from an older field kit (no `written_at`) applies as before."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from backend.specs import now
from backend.sync import notes as sync_notes
from backend.visits.tables import Note
from tests.support.factories import caller, make_org, register_device
from tests.support.sync import note_op

pytestmark = pytest.mark.anyio
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def stamped(body: str, visit: Any, written: dt.datetime | None) -> dict[str, Any]:
    op = note_op(body, visit=visit)
    if written is not None:
        op["data"]["written_at"] = written.isoformat()
    return op


async def stored(body: str) -> dict[str, Any]:
    row = await Note.select(Note.written_at, Note.clock_skewed, Note.created_at).where(Note.body == body).first()
    assert row is not None, body
    written = row["written_at"]
    return {**row, "written_at": written if written is None or written.tzinfo else written.replace(tzinfo=dt.UTC)}


@pytest.mark.parametrize("path", ["batch", "one_by_one"])
async def test_written_at_is_corrected_by_the_batch_clock_offset(api, monkeypatch, path: str) -> None:
    if path == "one_by_one":
        async def refuse(*args: Any, **kwargs: Any) -> Any:
            raise sync_notes.BatchRefused("test: take the notes one by one")
        monkeypatch.setattr(sync_notes, "create_many", refuse)
    org = await make_org()
    visit = org.a.records["agent1"]["visit"]
    me = await caller(api, org.a.users["agent1"])
    device_id = await register_device(me)
    server_now = now()
    # The phone's clock runs 3 minutes slow; it wrote the note 3.5 hours ago by its own clock.
    device_now = (server_now - dt.timedelta(minutes=3)).astimezone(SHANGHAI)
    written = device_now - dt.timedelta(hours=3, minutes=30)
    reply = await me.post("/api/sync/push", json={"device_id": device_id, "device_now": device_now.isoformat(),
                                                  "ops": [stamped(f"slow clock {path}", visit, written)]})
    assert reply.status_code == 200 and reply.json()["applied"] == 1, reply.text
    record = reply.json()["results"][0]["record"]
    note = await stored(f"slow clock {path}")
    expected = server_now - dt.timedelta(hours=3, minutes=30)
    assert abs(note["written_at"] - expected) < dt.timedelta(seconds=5)
    assert note["clock_skewed"] is False
    assert dt.datetime.fromisoformat(record["written_at"]) == note["written_at"]
    assert record["clock_skewed"] is False


async def test_a_phone_clock_set_to_2020_still_stamps_real_time_and_is_flagged(api) -> None:
    org = await make_org()
    visit = org.a.records["agent1"]["visit"]
    me = await caller(api, org.a.users["agent1"])
    device_id = await register_device(me)
    device_now = dt.datetime(2020, 1, 1, 12, 0, tzinfo=SHANGHAI)
    ops = [stamped("2020 first", visit, device_now - dt.timedelta(minutes=40)),
           stamped("2020 second", visit, device_now - dt.timedelta(minutes=20))]
    reply = await me.post("/api/sync/push", json={"device_id": device_id, "device_now": device_now.isoformat(),
                                                  "ops": ops})
    assert reply.status_code == 200 and reply.json()["applied"] == 2, reply.text
    first, second = await stored("2020 first"), await stored("2020 second")
    assert first["written_at"] < second["written_at"] <= now()  # order kept, nothing in 2020, nothing ahead
    assert now() - first["written_at"] < dt.timedelta(minutes=41)
    assert first["clock_skewed"] is True and second["clock_skewed"] is True


async def test_a_note_without_written_at_applies_as_before(api) -> None:
    org = await make_org()
    visit = org.a.records["agent1"]["visit"]
    me = await caller(api, org.a.users["agent1"])
    device_id = await register_device(me)
    reply = await me.post("/api/sync/push", json={"device_id": device_id,
                                                  "ops": [stamped("old field kit", visit, None)]})
    assert reply.status_code == 200 and reply.json()["applied"] == 1, reply.text
    note = await stored("old field kit")
    assert note["written_at"] is None and note["clock_skewed"] is False


async def test_a_written_at_ahead_of_the_server_is_kept_at_now(api) -> None:
    org = await make_org()
    visit = org.a.records["agent1"]["visit"]
    me = await caller(api, org.a.users["agent1"])
    device_id = await register_device(me)
    # No device_now (cannot correct), and a time in the future: the note is not dated ahead of its arrival.
    reply = await me.post("/api/sync/push", json={"device_id": device_id, "ops": [
        stamped("from the future", visit, now() + dt.timedelta(days=2))]})
    assert reply.status_code == 200 and reply.json()["applied"] == 1, reply.text
    note = await stored("from the future")
    assert note["written_at"] <= now()
