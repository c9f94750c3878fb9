"""Content-addressed file store: ``root/ab/cd/<sha256>.jpg``, written atomically, each content stored once.

Files are immutable once written, so they can be served with a strong ETag (the hash) and shared by several
workers on one shared directory.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

_SHA256 = re.compile(r"[0-9a-f]{64}")
_SUFFIX = ".jpg"
_TEMP_PREFIX = ".tmp-"
DEFAULT_GRACE_SECONDS = 3600.0
"""How old an unreferenced or temporary file must be before ``gc`` removes it (see ``MediaStore.gc``)."""


@dataclass
class GcReport:
    """What a collection removed (or would remove, on a dry run) and which referenced files are missing."""

    removed_files: set[str] = field(default_factory=set)
    missing_files: set[str] = field(default_factory=set)
    removed_temp_files: list[Path] = field(default_factory=list)
    kept_recent_files: set[str] = field(default_factory=set)
    freed_bytes: int = 0


class MediaStore:
    """Stores bytes under their sha256; the caller keeps the hash in its rows."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_for(self, sha256: str) -> Path:
        """Where a hash lives; rejects anything but 64 lowercase hex digits (no path tricks)."""
        if not _SHA256.fullmatch(sha256):
            raise ValueError(f"not a sha256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / f"{sha256}{_SUFFIX}"

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def open(self, sha256: str) -> BinaryIO:
        """Open for reading; raises ``FileNotFoundError`` when the file is not stored."""
        return self.path_for(sha256).open("rb")

    def put(self, data: bytes) -> tuple[str, Path, bool]:
        """Store ``data`` and return ``(sha256, path, created)``; identical content is stored once.

        Storing content that already exists refreshes its mtime, so a ``gc`` running before the caller's row
        is committed sees it as recent and leaves it alone.
        """
        sha256 = hashlib.sha256(data).hexdigest()
        path = self.path_for(sha256)
        try:
            os.utime(path)
        except FileNotFoundError:
            pass
        else:
            return sha256, path, False
        self._write_atomically(path, data)
        return sha256, path, True

    def delete(self, sha256: str) -> bool:
        """Remove a stored file; returns False when there was none."""
        try:
            self.path_for(sha256).unlink()
        except FileNotFoundError:
            return False
        return True

    def gc(
        self,
        referenced: set[str],
        *,
        dry_run: bool = False,
        grace_seconds: float = DEFAULT_GRACE_SECONDS,
        now: float | None = None,
    ) -> GcReport:
        """Remove stored files no row references, and temp files left by crashed uploads.

        Only files older than ``grace_seconds`` go: an upload in flight has a file (or temp file) whose row is
        not committed yet. ``now`` (epoch seconds) is injectable for tests.
        """
        cutoff = (time.time() if now is None else now) - grace_seconds
        report = GcReport(missing_files=set(referenced))
        for path in self._shard_files():
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            name = path.name
            if name.startswith(_TEMP_PREFIX):
                if stat.st_mtime < cutoff:
                    report.removed_temp_files.append(path)
                    report.freed_bytes += self._remove(path, dry_run)
                continue
            sha256 = name.removesuffix(_SUFFIX)
            if not name.endswith(_SUFFIX) or not _SHA256.fullmatch(sha256):
                continue
            if sha256 in referenced:
                report.missing_files.discard(sha256)
            elif stat.st_mtime >= cutoff:
                report.kept_recent_files.add(sha256)
            else:
                report.removed_files.add(sha256)
                report.freed_bytes += self._remove(path, dry_run)
        return report

    def _shard_files(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return [path for path in self.root.glob("??/??/*") if path.is_file()]

    @staticmethod
    def _remove(path: Path, dry_run: bool) -> int:
        try:
            size = path.stat().st_size
            if not dry_run:
                path.unlink()
        except FileNotFoundError:
            return 0
        return size

    def _write_atomically(self, path: Path, data: bytes) -> None:
        """Temp file in the same directory, fsync, ``os.replace``, fsync the directory: all or nothing."""
        self._make_dirs(path.parent)
        fd, temp_name = tempfile.mkstemp(prefix=_TEMP_PREFIX, suffix=".part", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as temp:
                temp.write(data)
                temp.flush()
                os.fchmod(temp.fileno(), 0o644)
                os.fsync(temp.fileno())
            os.replace(temp_name, path)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
        _fsync_dir(path.parent)

    def _make_dirs(self, directory: Path) -> None:
        """Create missing shard directories and fsync each parent, so a crash cannot lose the new entry."""
        missing = []
        current = directory
        while not current.is_dir():
            missing.append(current)
            current = current.parent
        for new_dir in reversed(missing):
            new_dir.mkdir(exist_ok=True)
            _fsync_dir(new_dir.parent)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
