"""`ipms media gc`: files without a photo row go (after the grace period), rows without files are reported."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from backend.photos import services
from backend.settings import Settings
from media.store import MediaStore
from tests.support.factories import Org, caller
from tests.support.photos import small_jpeg, stored_files, upload

pytestmark = pytest.mark.anyio
REPO = Path(__file__).resolve().parents[3]
HOUR = 3600


async def photo_with_orphan(api, database: Settings, org: Org) -> tuple[dict, str, MediaStore]:
    """One photo, one orphan file (as a crash between storing files and committing the row leaves)."""
    owner = await caller(api, org.a.users["agent1"])
    response = await upload(owner, ("visit", org.a.records["agent1"]["visit"]), small_jpeg())
    assert response.status_code == 201
    store = MediaStore(database.media_dir)
    orphan, _, _ = store.put(b"\xff\xd8\xff orphan of a crashed upload")
    return response.json(), orphan, store


async def test_gc_removes_orphan_and_reports_missing_file(api, database: Settings, org: Org) -> None:
    photo, orphan, store = await photo_with_orphan(api, database, org)
    store.delete(photo["thumb_sha256"])

    result = await services.collect_media_garbage(database, now=time.time() + 2 * HOUR)

    assert result.report.removed_files == {orphan}
    assert not store.exists(orphan)
    assert store.exists(photo["display_sha256"])
    assert [(str(m.photo_id), m.variant, m.sha256) for m in result.missing] == [
        (photo["id"], "thumbnail", photo["thumb_sha256"])
    ]


async def test_gc_keeps_young_orphans_and_dry_run_removes_nothing(api, database: Settings, org: Org) -> None:
    _, orphan, _ = await photo_with_orphan(api, database, org)

    young = await services.collect_media_garbage(database)  # an upload may still be committing its row
    dry = await services.collect_media_garbage(database, dry_run=True, now=time.time() + 2 * HOUR)

    assert young.report.removed_files == set() and young.report.kept_recent_files == {orphan}
    assert dry.report.removed_files == {orphan}
    assert len(stored_files(database.media_dir)) == 3
    assert young.missing == dry.missing == []


async def test_gc_keeps_files_of_deleted_photo_shared_with_another(api, database: Settings, org: Org) -> None:
    owner = await caller(api, org.a.users["agent1"])
    first, second = [(await upload(owner, ("visit", org.a.records["agent1"]["visit"]), small_jpeg())).json()
                     for _ in range(2)]
    assert first["display_sha256"] == second["display_sha256"]  # same content, stored once
    assert (await owner.delete(f"/api/photos/{first['id']}")).status_code == 204

    result = await services.collect_media_garbage(database, now=time.time() + 2 * HOUR)

    assert result.report.removed_files == set()
    assert (await owner.get(second["urls"]["display"])).status_code == 200


async def test_media_gc_command(api, database: Settings, org: Org) -> None:
    photo, orphan, store = await photo_with_orphan(api, database, org)
    two_hours_ago = time.time() - 2 * HOUR
    os.utime(store.path_for(orphan), (two_hours_ago, two_hours_ago))
    store.delete(photo["display_sha256"])
    env = {**os.environ, "IPMS_ENV": "test", "IPMS_DATA_DIR": str(database.data_dir),
           "IPMS_DATABASE_URL": database.database_url}

    def ipms(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "backend.cli", "media", "gc", *args], cwd=REPO, env=env,
                              capture_output=True, text=True, check=False)

    dry = ipms("--dry-run")
    assert store.exists(orphan)
    done = ipms()

    assert dry.returncode == done.returncode == 1, done.stderr  # 1: a photo's file is missing
    assert "Would remove 1 unreferenced files" in dry.stdout
    assert "Removed 1 unreferenced files" in done.stdout
    assert f"MISSING photo {photo['id']} display {photo['display_sha256']}" in done.stdout
    assert not store.exists(orphan)
    assert store.exists(photo["thumb_sha256"])
