"""Every committed migration runs forwards on an empty database, and the tables match the migrations."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from piccolo.apps.migrations.commands.base import BaseMigrationManager
from piccolo.apps.migrations.tables import Migration
from piccolo.engine.postgres import PostgresEngine

from backend import db
from backend.migrate import migrate
from backend.ops import pending_migrations
from backend.piccolo_conf import APP_REGISTRY
from tests.support.databases import RUN_ID, admin_execute, pg_admin_url, with_database

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]


def migration_ids() -> dict[str, set[str]]:
    manager = BaseMigrationManager()
    return {
        app: set(manager.get_migration_modules(config.migrations_folder_path))
        for app, config in APP_REGISTRY.app_configs.items()
    }


def app_tables() -> list[Any]:
    return [t for config in APP_REGISTRY.app_configs.values() for t in config.table_classes]


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A brand-new, empty database: a SQLite file path, or the URL of a PostgreSQL database made for this test."""
    if request.param == "sqlite":
        yield str(tmp_path / "empty.sqlite3")
        return
    admin = pg_admin_url()
    if admin is None:
        pytest.skip("PostgreSQL not reachable at 127.0.0.1:5432 (set IPMS_TEST_POSTGRES_URL to run these)")
    name = f"ipms_mig_{RUN_ID}_{uuid.uuid4().hex[:8]}"
    asyncio.run(admin_execute(admin, f'CREATE DATABASE "{name}"'))
    try:
        yield with_database(admin, name)
    finally:
        asyncio.run(admin_execute(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def empty_engine(empty_database: str) -> AsyncIterator[Any]:
    engine: Any
    if empty_database.startswith("postgresql://"):
        engine = PostgresEngine(config={"dsn": empty_database})
    else:
        assert not Path(empty_database).exists()
        engine = db.AppSQLiteEngine(empty_database)
    db.bind(engine)
    await db.start(engine, pool_size=2)
    try:
        yield engine
    finally:
        await db.stop(engine)


async def database_columns(engine: Any) -> dict[str, set[str]]:
    if isinstance(engine, PostgresEngine):
        rows = await Migration.raw(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'"
        )
        result: dict[str, set[str]] = {}
        for row in rows:
            result.setdefault(row["table_name"], set()).add(row["column_name"])
        return result
    tables = await Migration.raw("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    return {
        t["name"]: {c["name"] for c in await Migration.raw(f"PRAGMA table_info(\"{t['name']}\")")} for t in tables
    }


async def test_every_migration_runs_forwards_on_empty_database(empty_engine):
    assert await database_columns(empty_engine) == {}, "the database is not empty"
    await migrate()

    expected = migration_ids()
    assert all(expected.values()), f"an app has no migrations: {expected}"
    for app, ids in expected.items():
        assert set(await Migration.get_migrations_which_ran(app_name=app)) == ids, app
    assert await pending_migrations() == []

    # The migrated schema holds every table and column the code declares.
    found = await database_columns(empty_engine)
    for table in app_tables():
        name = table._meta.tablename
        declared = {column._meta.db_column_name for column in table._meta.columns}
        assert name in found, f"table {name} is missing after the migrations"
        assert declared == found[name], f"{name}: columns differ (declared vs migrated)"

    # Running them again is a no-op (the app migrates on every start).
    before = await Migration.count()
    await migrate()
    assert await Migration.count() == before


MIGRATION_FILE = re.compile(r"^(?P<app>[a-z0-9_]+?)_(?P<stamp>\d{4}_\d{2}_\d{2}t\d{2}_\d{2}_\d{2}_\d{6})\.py$")


def migration_files() -> set[Path]:
    return {
        path for config in APP_REGISTRY.app_configs.values()
        for path in Path(config.resolved_migrations_folder_path).glob("*.py") if path.name != "__init__.py"
    }


def test_auto_migration_finds_no_difference(tmp_path):
    """`piccolo migrations new all --auto` compares the tables with the migrations; it must find nothing."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IPMS_")}
    env |= {"PICCOLO_CONF": "backend.piccolo_conf", "IPMS_DATA_DIR": str(tmp_path), "IPMS_ENV": "test"}
    existing = migration_files()
    started = dt.datetime.now() - dt.timedelta(seconds=1)
    result = subprocess.run(
        [sys.executable, "-m", "piccolo.main", "migrations", "new", "all", "--auto"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL, check=False,
    )
    finished = dt.datetime.now() + dt.timedelta(seconds=1)
    # Remove whatever this run wrote (only files stamped within the run: other people may be adding theirs).
    created = []
    for path in migration_files() - existing:
        match = MIGRATION_FILE.match(path.name)
        if match and started <= dt.datetime.strptime(match["stamp"], "%Y_%m_%dt%H_%M_%S_%f") <= finished:
            created.append(path.relative_to(ROOT))
            path.unlink()
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert not created, f"auto-migration found differences and wrote {created}:\n{output}"
    apps = len(APP_REGISTRY.app_configs)
    assert output.count("No changes detected") == apps, output


def _constant_on_sqlite(default: Any) -> bool:
    """Whether SQLite can fill existing rows with this default (a literal, not current_timestamp or a Python-side
    value such as UUID4, which renders no SQL default at all)."""
    from piccolo.columns.defaults.base import Default

    if not isinstance(default, Default):
        return True
    sql = default.sqlite
    return isinstance(sql, str) and (sql.startswith("'") or re.fullmatch(r"-?[\d.]+|null", sql.lower()) is not None)


def test_columns_added_to_existing_tables_can_fill_the_rows_already_there():
    """`ALTER TABLE … ADD COLUMN … NOT NULL DEFAULT current_timestamp` works on an empty SQLite table and fails on
    one with rows ("Cannot add a column with non-constant default"): every upgrade of a live database would stop.
    A column added to an existing table is nullable or has a constant default."""
    manager = BaseMigrationManager()
    refused = []
    for app, config in APP_REGISTRY.app_configs.items():
        for module in manager.get_migration_modules(config.resolved_migrations_folder_path).values():
            migration = asyncio.run(module.forwards())
            new_tables = {table.class_name for table in migration.add_tables}
            for added in migration.add_columns.add_columns:
                column = added.column
                if added.table_class_name in new_tables or column._meta.null:
                    continue
                if not _constant_on_sqlite(column.default):
                    refused.append(f"{app} {module.ID}: {added.tablename}.{column._meta.name} = {column.default!r}")
    assert not refused, refused
