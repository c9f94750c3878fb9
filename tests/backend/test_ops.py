"""Backup under concurrent writes restores to a healthy database holding every row committed before it began."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from backend import db, ops
from backend.audit.tables import ChangeLog
from backend.settings import Settings
from backend.visits.services import create_note
from backend.visits.tables import Note
from tests.support.databases import RUN_ID, admin_execute, with_database
from tests.support.factories import actor, make_org

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 120  # an upper bound for conditions awaited below, never a delay

# A second process writing notes through the services into the same database; it logs each id after commit.
WRITER = """
import asyncio, pathlib, sys, uuid
from backend import db
from backend.access import Actor
from backend.settings import Settings
from backend.visits.services import create_note

async def main(user_id, branch_id, client_id, log_path, stop_path):
    engine = db.engine_for(Settings.from_env())
    db.bind(engine)
    await db.start(engine, pool_size=2)
    actor = Actor(id=uuid.UUID(user_id), role="agent", branch_id=uuid.UUID(branch_id), username="writer")
    try:
        with open(log_path, "a") as log:
            for i in range(20000):
                if pathlib.Path(stop_path).exists():
                    break
                note = await create_note(actor, {"body": f"from process {i}", "client_id": uuid.UUID(client_id)})
                log.write(f"{note.id}\\n")
                log.flush()
    finally:
        await db.stop(engine)

asyncio.run(main(*sys.argv[1:6]))
"""


def subprocess_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IPMS_")}
    return env | {"IPMS_ENV": "test", "IPMS_DATA_DIR": str(settings.data_dir),
                  "IPMS_DATABASE_URL": settings.database_url}


def logged_ids(path: Path) -> set[str]:
    """Ids the other process has committed (complete lines only)."""
    if not path.exists():
        return set()
    return {line for line in path.read_text().split("\n")[:-1] if len(line) == 36}


async def wait_for(condition: Any, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_SECONDS
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        await asyncio.sleep(0.02)


async def restored_copy(settings: Settings, backup_dir: Path, tmp_path: Path) -> Settings:
    """Restore into a fresh data directory (and, on PostgreSQL, a fresh empty database)."""
    target = Settings(env="test", data_dir=tmp_path / "restored")
    if settings.uses_postgres:
        admin = with_database(settings.database_url, "postgres")
        name = f"ipms_rs_{RUN_ID}_{uuid.uuid4().hex[:8]}"
        await admin_execute(admin, f'CREATE DATABASE "{name}"')
        target = dataclasses.replace(target, database_url=with_database(admin, name))
    await asyncio.to_thread(ops.restore, target, backup_dir)
    return target


async def drop_restored(target: Settings) -> None:
    if target.uses_postgres:
        admin = with_database(target.database_url, "postgres")
        name = target.database_url.rsplit("/", 1)[1]
        await admin_execute(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_backup_under_concurrent_writes_restores_everything_committed(database, tmp_path):
    settings: Settings = database
    org = await make_org()
    agents = [org.a.users["agent1"], org.a.users["agent2"]]
    media_file = settings.media_dir / "ab" / "abcdef.jpg"
    media_file.parent.mkdir(parents=True)
    media_file.write_bytes(b"\xff\xd8 not really a photo")

    # Bulk, so the snapshot takes long enough for the writers below to overlap it.
    parent = org.b.records["agent1"]["client"]
    for _ in range(4):
        await Note.insert(*[Note(branch=org.b.branch.id, author=org.b.users["agent1"].id, client=parent.id,
                                 body="填充" * 2000) for _ in range(500)])

    # In-process writers: tasks on this event loop, through the services.
    committed: list[str] = []
    stop = asyncio.Event()

    async def write_notes(user: Any, parent: Any) -> None:
        me, n = actor(user), 0
        while not stop.is_set():
            note = await create_note(me, {"body": f"note {n}", "client_id": parent.id})
            committed.append(str(note.id))
            n += 1

    # Another process writing into the same database at the same time.
    log_path, stop_path = tmp_path / "writer.log", tmp_path / "writer.stop"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    other = org.a.users["agent1"]
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(script), str(other.id), str(org.a.branch.id),
        str(org.a.records["agent1"]["client"].id), str(log_path), str(stop_path),
        cwd=ROOT, env=subprocess_env(settings), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    tasks = [asyncio.create_task(write_notes(u, org.a.records[k]["client"]))
             for u, k in zip(agents * 2, ["agent1", "agent2"] * 2, strict=True)]
    backup_dir = tmp_path / "backup"
    target: Settings | None = None
    try:
        await wait_for(lambda: (len(committed) >= 40 and len(logged_ids(log_path)) >= 20)
                       or process.returncode is not None, "both writers to get going")
        assert process.returncode is None, await process.communicate()
        # Everything committed up to here must be in the backup; the writers keep going during it.
        before = set(committed) | logged_ids(log_path)
        during_start = len(committed), len(logged_ids(log_path))
        await ops.backup(settings, backup_dir)
        written_during = len(committed) - during_start[0], len(logged_ids(log_path)) - during_start[1]
        await wait_for(lambda: len(logged_ids(log_path) - before) >= 5, "the other process to write after backup")
    finally:
        stop.set()
        stop_path.touch()
        await asyncio.gather(*tasks)
        try:
            _, err = await asyncio.wait_for(process.communicate(), WAIT_SECONDS)
        except TimeoutError:
            process.kill()
            _, err = await process.communicate()
    assert process.returncode == 0, err
    total = await Note.count()
    assert total > len(before) + 5  # writes went on during and after the backup

    manifest = (backup_dir / ops.MANIFEST).read_text()
    assert ("postgres" if settings.uses_postgres else "sqlite") in manifest
    target = await restored_copy(settings, backup_dir, tmp_path)
    engine = db.engine_for(target)
    original = db.current_engine()
    db.bind(engine)
    await db.start(engine, pool_size=2)
    try:
        assert await ops.check(target) == []
        restored_notes = {str(r["id"]) for r in await Note.select(Note.id)}
        missing = before - restored_notes
        assert not missing, f"{len(missing)} of {len(before)} committed notes missing from the restore"
        # Consistency: every restored note has its change-log row (written in the same transaction), and
        # no change-log row points at a note the snapshot does not hold.
        logged = {r["row_id"] for r in await ChangeLog.select(ChangeLog.row_id).where(
            (ChangeLog.table_name == "notes") & (ChangeLog.action == "create"))}
        seeded = {str(r["id"]) for r in await Note.select(Note.id).where(Note.client == parent.id)}
        seeded |= {str(records[k].id) for branch in (org.a, org.b) for records in branch.records.values()
                  for k in ("note_client", "note_project", "note_visit")}  # factory rows, inserted unaudited
        assert restored_notes - seeded <= logged
        assert logged <= restored_notes
        assert (target.media_dir / "ab" / "abcdef.jpg").read_bytes() == media_file.read_bytes()
    finally:
        await db.stop(engine)
        db.bind(original)
        await drop_restored(target)
    print(f"{len(before)} notes committed before the backup, "
          f"{written_during} (in-process, other process) writes during it, {total} in all")


def run_ipms(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IPMS_")}
    env |= {"IPMS_ENV": "test", "IPMS_DATA_DIR": str(data_dir)}
    return subprocess.run([sys.executable, "-m", "backend.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


def test_backup_restore_check_through_the_cli(tmp_path):
    live, restored, backup_dir = tmp_path / "live", tmp_path / "restored", tmp_path / "backup"
    assert run_ipms(live, "demo").returncode == 0
    (live / "media" / "00").mkdir(parents=True)
    (live / "media" / "00" / "photo.jpg").write_bytes(b"photo bytes")

    made = run_ipms(live, "backup", str(backup_dir))
    assert made.returncode == 0, made.stderr
    assert "Backup written to" in made.stdout
    assert run_ipms(live, "backup", str(backup_dir)).returncode != 0  # never overwrites a backup

    put_back = run_ipms(restored, "restore", str(backup_dir))
    assert put_back.returncode == 0, put_back.stderr
    checked = run_ipms(restored, "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith("OK")

    def counts(folder: Path) -> dict[str, int]:
        with sqlite3.connect(folder / "ipms.sqlite3") as connection:
            return {t: connection.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                    for t in ("users", "clients", "projects", "notes", "change_log")}

    assert counts(restored) == counts(live) and counts(live)["clients"] > 0
    assert (restored / "media" / "00" / "photo.jpg").read_bytes() == b"photo bytes"


async def test_pg_backup_refuses_sqlite_target(database, tmp_path):
    """A backup only restores onto the engine it came from (and says so)."""
    settings: Settings = database
    await ops.backup(settings, tmp_path / "backup")
    other = Settings(env="test", data_dir=tmp_path / "other",
                     database_url="" if settings.uses_postgres else "postgresql://127.0.0.1/none")
    with pytest.raises(ValueError, match="IPMS_DATABASE_URL"):
        ops.restore(other, tmp_path / "backup")

