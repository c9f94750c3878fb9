"""Content-addressed storage: one file per content, atomic writes, and a collector that knows what is in use."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from media.store import MediaStore

HOUR = 3600.0


def _all_files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


def test_store_put_names_file_by_hash(tmp_path: Path) -> None:
    sha, path, created = MediaStore(tmp_path).put(b"photo bytes")

    assert sha == hashlib.sha256(b"photo bytes").hexdigest()
    assert path == tmp_path / sha[:2] / sha[2:4] / f"{sha}.jpg"
    assert created and path.read_bytes() == b"photo bytes"


def test_store_put_same_content_twice_one_file(tmp_path: Path) -> None:
    store = MediaStore(tmp_path)
    first = store.put(b"same")
    second = store.put(b"same")

    assert first[:2] == second[:2]
    assert (first[2], second[2]) == (True, False)
    assert _all_files(tmp_path) == [first[1]]


def test_store_put_leaves_no_temp_file(tmp_path: Path) -> None:
    store = MediaStore(tmp_path)
    paths = [store.put(f"photo {index}".encode())[1] for index in range(5)]
    assert _all_files(tmp_path) == sorted(paths)


def test_store_put_interrupted_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(source: object, target: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        MediaStore(tmp_path).put(b"never stored")
    assert _all_files(tmp_path) == []


def test_store_put_existing_refreshes_mtime(tmp_path: Path) -> None:
    store = MediaStore(tmp_path)
    _, path, _ = store.put(b"old upload")
    os.utime(path, (1_000_000, 1_000_000))

    store.put(b"old upload")
    assert path.stat().st_mtime > 1_000_000


@pytest.mark.parametrize("bad", ["../../etc/passwd", "ABCDEF" * 10 + "ABCD", "a" * 63, "g" * 64, ""])
def test_store_path_for_rejects_non_hash(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError, match="sha256"):
        MediaStore(tmp_path).path_for(bad)


def test_store_open_exists_and_delete(tmp_path: Path) -> None:
    store = MediaStore(tmp_path)
    sha, _, _ = store.put(b"content")

    with store.open(sha) as stored:
        assert stored.read() == b"content"
    assert store.exists(sha)
    assert store.delete(sha) is True
    assert store.delete(sha) is False
    assert not store.exists(sha)
    with pytest.raises(FileNotFoundError):
        store.open(sha)


def test_store_gc_removes_orphans_and_reports_missing(tmp_path: Path) -> None:
    store = MediaStore(tmp_path)
    kept, _, _ = store.put(b"referenced")
    orphan, orphan_path, _ = store.put(b"orphan")
    missing = hashlib.sha256(b"row without file").hexdigest()

    report = store.gc({kept, missing}, now=orphan_path.stat().st_mtime + 2 * HOUR)

    assert report.removed_files == {orphan}
    assert report.missing_files == {missing}
    assert report.freed_bytes == len(b"orphan")
    assert store.exists(kept) and not store.exists(orphan)


def test_store_gc_keeps_recent_orphans(tmp_path: Path) -> None:
    # An upload whose row is not committed yet is an "orphan" for a moment; the grace period protects it.
    store = MediaStore(tmp_path)
    sha, path, _ = store.put(b"uploading")

    report = store.gc(set(), now=path.stat().st_mtime + 60)

    assert report.removed_files == set() and report.kept_recent_files == {sha}
    assert store.exists(sha)


def test_store_gc_removes_stale_temp_files(tmp_path: Path) -> None:
    store = MediaStore(tmp_path)
    _, path, _ = store.put(b"photo")
    stale = path.parent / ".tmp-crashed.part"
    stale.write_bytes(b"half an upload")
    fresh = path.parent / ".tmp-in-flight.part"
    fresh.write_bytes(b"being written")
    os.utime(stale, (path.stat().st_mtime - 3 * HOUR,) * 2)

    report = store.gc({path.stem}, now=path.stat().st_mtime + 60)

    assert report.removed_temp_files == [stale]
    assert not stale.exists() and fresh.exists() and path.exists()


def test_store_gc_dry_run_removes_nothing(tmp_path: Path) -> None:
    store = MediaStore(tmp_path)
    orphan, path, _ = store.put(b"orphan")
    temp = path.parent / ".tmp-crashed.part"
    temp.write_bytes(b"x")

    report = store.gc(set(), dry_run=True, now=path.stat().st_mtime + 2 * HOUR)

    assert report.removed_files == {orphan} and report.removed_temp_files == [temp]
    assert path.exists() and temp.exists()


def test_store_gc_on_missing_root_reports_every_reference_missing(tmp_path: Path) -> None:
    sha = hashlib.sha256(b"x").hexdigest()
    report = MediaStore(tmp_path / "nothing-yet").gc({sha})
    assert report.missing_files == {sha} and report.removed_files == set()
