"""Operations: health check, online backup and restore of the database and the media directory."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from piccolo.apps.migrations.commands.base import BaseMigrationManager
from piccolo.apps.migrations.tables import Migration

from backend import db
from backend.piccolo_conf import APP_REGISTRY
from backend.settings import Settings

MANIFEST = "manifest.json"


async def pending_migrations() -> list[str]:
    manager = BaseMigrationManager()
    pending = []
    for app_name, config in APP_REGISTRY.app_configs.items():
        modules = manager.get_migration_modules(config.resolved_migrations_folder_path)
        ran: set[str] = set()
        if await Migration.table_exists():
            ran = set(await Migration.get_migrations_which_ran(app_name=app_name))
        pending += [f"{app_name}:{mid}" for mid in sorted(modules) if mid not in ran]
    return pending


async def check(settings: Settings) -> list[str]:
    """Every problem found, as one line each; an empty list means healthy."""
    problems: list[str] = []
    if not os.access(settings.data_dir, os.W_OK):
        problems.append(f"data directory {settings.data_dir} is not writable")
    try:
        await Migration.raw("SELECT 1")
    except Exception as exc:
        return [*problems, f"database unreachable: {exc}"]
    missing = await pending_migrations()
    if missing:
        problems.append(f"migrations not applied: {', '.join(missing)} (run `ipms migrate`)")
    if not db.is_postgres():
        result = await Migration.raw("PRAGMA integrity_check")
        if [r for r in result if next(iter(r.values())) != "ok"]:
            problems.append(f"SQLite integrity check failed: {result[:5]}")
        if await Migration.raw("PRAGMA foreign_key_check"):
            problems.append("SQLite foreign key check found orphaned rows")
    live = await live_backend_problem(settings)
    return [*problems, live] if live else problems


async def live_backend_problem(settings: Settings) -> str | None:
    """The live-update backend answers a publish (nothing to check for the in-process one)."""
    if settings.live_backend == "memory":
        return None
    from backend.live.transport import LiveTransport, open_channels

    transport = LiveTransport(settings)
    try:
        await open_channels(transport.channels, timeout=5)
        line = await transport.check()
        await transport.channels.__aexit__(None, None, None)
    except Exception as exc:
        return f"live backend {settings.live_backend} unreachable: {type(exc).__name__}: {exc}"
    return None if line.endswith(": ok") else line


def _sqlite_backup(source: Path, target: Path) -> None:
    """SQLite's online backup API copies one consistent snapshot while the app keeps writing (WAL)."""
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


async def backup(settings: Settings, target: Path) -> Path:
    """Database snapshot first, then media: photos are immutable and content-addressed, so every file the
    snapshot refers to is already on disk when it is copied."""
    if target.exists() and any(target.iterdir()):
        raise FileExistsError(f"{target} exists and is not empty")
    target.mkdir(parents=True, exist_ok=True)
    if settings.uses_postgres:
        await asyncio.to_thread(subprocess.run, ["pg_dump", "--format=custom", "--file", str(target / "postgres.dump"),
                                                 settings.database_url], check=True)
        database = "postgres.dump"
    else:
        await asyncio.to_thread(_sqlite_backup, settings.sqlite_path, target / "ipms.sqlite3")
        database = "ipms.sqlite3"
    if settings.media_dir.exists():
        await asyncio.to_thread(shutil.copytree, settings.media_dir, target / "media",
                                ignore=shutil.ignore_patterns("*.tmp", ".tmp*"))
    manifest = {"created_at": dt.datetime.now(dt.UTC).isoformat(), "database": database,
                "engine": "postgres" if settings.uses_postgres else "sqlite"}
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return target


def restore(settings: Settings, source: Path) -> None:
    """Put a backup in place of the current database and media (the app must be stopped)."""
    manifest = json.loads((source / MANIFEST).read_text())
    if manifest["engine"] == "postgres":
        if not settings.uses_postgres:
            raise ValueError("This is a PostgreSQL backup; set IPMS_DATABASE_URL to restore it")
        subprocess.run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--dbname", settings.database_url,
                        str(source / manifest["database"])], check=True)
    else:
        if settings.uses_postgres:
            raise ValueError("This is a SQLite backup; unset IPMS_DATABASE_URL to restore it")
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        for suffix in ("-wal", "-shm"):
            Path(f"{settings.sqlite_path}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(source / manifest["database"], settings.sqlite_path)
    if (source / "media").exists():
        shutil.rmtree(settings.media_dir, ignore_errors=True)
        shutil.copytree(source / "media", settings.media_dir)
