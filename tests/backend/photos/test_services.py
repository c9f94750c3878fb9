"""`ingest_photo` without HTTP (as the offline outbox replay will call it): audit, threads, crash safety."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid

import pytest

from backend import records
from backend.audit.tables import ChangeLog
from backend.errors import Invalid
from backend.photos import services
from backend.photos.schemas import Parent
from backend.photos.tables import Photo
from backend.settings import Settings
from tests.support.factories import Org, actor
from tests.support.photos import quadrant_jpeg, small_jpeg, stored_files

pytestmark = pytest.mark.anyio


async def test_ingest_photo_writes_row_and_audit_once(database: Settings, org: Org) -> None:
    owner = actor(org.a.users["agent1"])
    parent = Parent("visit", org.a.records["agent1"]["visit"].id)
    photo_id = uuid.uuid4()

    first = await services.ingest_photo(owner, database, photo_id=photo_id, parent=parent, data=small_jpeg(),
                                        taken_at=dt.datetime(2026, 5, 1, 14, 30))
    retry = await services.ingest_photo(owner, database, photo_id=photo_id, parent=parent, data=small_jpeg())

    assert (first.created, retry.created) == (True, False)
    assert retry.photo == first.photo
    assert first.photo.owner_id == owner.id and first.photo.branch_id == org.a.branch.id
    assert first.photo.taken_at == dt.datetime(2026, 5, 1, 6, 30, tzinfo=dt.UTC)  # naive = branch time, UTC+8
    changes = await ChangeLog.select(ChangeLog.action, ChangeLog.branch_id, ChangeLog.owner_id).where(
        (ChangeLog.table_name == "photos") & (ChangeLog.row_id == str(photo_id)))
    assert changes == [{"action": "create", "branch_id": org.a.branch.id, "owner_id": owner.id}]


async def test_ingest_photo_decodes_in_worker_thread(database: Settings, org: Org, monkeypatch) -> None:
    threads = []
    real_ingest = services.ingest

    def recording_ingest(*args, **kwargs):
        threads.append(threading.current_thread())
        return real_ingest(*args, **kwargs)

    monkeypatch.setattr(services, "ingest", recording_ingest)
    await services.ingest_photo(actor(org.a.users["agent1"]), database, photo_id=uuid.uuid4(),
                                parent=Parent("project", org.a.records["agent1"]["project"].id), data=quadrant_jpeg())

    assert threads and threads[0] is not threading.main_thread()


async def test_ingest_photo_crash_before_row_leaves_only_collectable_files(
    database: Settings, org: Org, monkeypatch
) -> None:
    async def crash(*args, **kwargs):
        raise RuntimeError("power cut")

    monkeypatch.setattr(records, "insert_audited", crash)
    with pytest.raises(RuntimeError):
        await services.ingest_photo(actor(org.a.users["agent1"]), database, photo_id=uuid.uuid4(),
                                    parent=Parent("visit", org.a.records["agent1"]["visit"].id), data=small_jpeg())
    assert await Photo.count() == 0
    assert len(stored_files(database.media_dir)) == 2

    await services.collect_media_garbage(database, now=time.time() + 7200)

    assert stored_files(database.media_dir) == []


async def test_ingest_photo_validates_typed_values(database: Settings, org: Org) -> None:
    owner, parent = actor(org.a.users["agent1"]), Parent("visit", org.a.records["agent1"]["visit"].id)

    for kwargs, field in (({"latitude": 1.0}, "longitude"), ({"latitude": -91.0, "longitude": 0.0}, "latitude"),
                          ({"taken_at": dt.datetime(2999, 1, 1, tzinfo=dt.UTC)}, "taken_at")):
        with pytest.raises(Invalid) as caught:
            await services.ingest_photo(owner, database, photo_id=uuid.uuid4(), parent=parent, data=small_jpeg(),
                                        **kwargs)
        assert caught.value.field == field
    assert stored_files(database.media_dir) == []
