"""The change-log feed never hands out a row while a lower sequence number can still commit."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from backend import db
from backend.access import Actor
from backend.audit import read
from backend.audit.services import record_change
from backend.audit.tables import ChangeLog

pytestmark = pytest.mark.anyio
EXECUTIVE = Actor(id=uuid.uuid4(), role="executive", branch_id=uuid.uuid4(), username="exec", display_name="Exec")


async def _write(row_id: str) -> None:
    async with db.write_transaction():
        await record_change(actor_id=None, action="test", table="feed_test", row_id=row_id)


async def _feed(after_seq: int, wait: float = read.SETTLE_SECONDS) -> list[tuple[int, str]]:
    rows = await read.list_changes(EXECUTIVE, table="feed_test", after_seq=after_seq, wait=wait)
    return [(row["seq"], row["row_id"]) for row in rows]


async def _last_seq() -> int:
    row = await ChangeLog.select(ChangeLog.seq).order_by(ChangeLog.seq, ascending=False).first()
    return row["seq"] if row else 0


async def test_feed_holds_back_a_row_until_the_lower_seq_commits(database, backend_name, monkeypatch) -> None:
    """Transaction A takes seq n and stays open while B takes n + 1 (and, on PostgreSQL, commits): a reader
    must not get n + 1 before n; once A commits it gets both, in order."""
    mark = await _last_seq()
    taken, release, waiting = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def slow() -> None:
        async with db.write_transaction():
            await record_change(actor_id=None, action="test", table="feed_test", row_id="A")
            taken.set()
            await release.wait()

    real_sleep = asyncio.sleep

    async def noticing_sleep(seconds: float) -> None:
        waiting.set()
        await real_sleep(seconds)

    a = asyncio.create_task(slow())
    await taken.wait()
    b = asyncio.create_task(_write("B"))
    try:
        if backend_name == "postgres":
            await b  # committed while A, holding the lower seq, is still open
            assert await ChangeLog.exists().where(ChangeLog.row_id == "B")
        else:
            await asyncio.sleep(0.05)  # SQLite's one writer: B waits for A, so seqs commit in order
            assert not b.done()
        assert await _feed(mark, wait=0.05) == []
        if backend_name == "postgres":
            monkeypatch.setattr(read.asyncio, "sleep", noticing_sleep)
            reader = asyncio.create_task(_feed(mark, wait=60))
            await asyncio.wait_for(waiting.wait(), 30)  # the reader found A in flight and waits for it
    finally:
        release.set()
        await asyncio.gather(a, b)
    if backend_name == "sqlite":
        reader = asyncio.create_task(_feed(mark))
    assert [row_id for _, row_id in await reader] == ["A", "B"]
    seqs = [seq for seq, _ in await _feed(mark)]
    assert seqs == sorted(seqs) and len(seqs) == 2


async def test_feed_serves_a_rolled_back_gap_and_what_follows(database) -> None:
    mark = await _last_seq()
    with pytest.raises(RuntimeError):
        async with db.write_transaction():
            await record_change(actor_id=None, action="test", table="feed_test", row_id="lost")
            raise RuntimeError("rolled back")
    await _write("kept")
    assert [row_id for _, row_id in await _feed(mark)] == ["kept"]


async def test_feed_cursor_walks_every_row_once(database) -> None:
    mark = await _last_seq()
    await asyncio.gather(*(_write(f"r{i}") for i in range(12)))
    seen, cursor = [], mark
    while page := await read.list_changes(EXECUTIVE, table="feed_test", after_seq=cursor, limit=5):
        seen += [row["row_id"] for row in page]
        cursor = page[-1]["seq"]
    assert sorted(seen) == sorted(f"r{i}" for i in range(12)) and len(seen) == 12
