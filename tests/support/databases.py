"""Database fixtures: every `database` test runs on a SQLite file and again on PostgreSQL.

Migrations run once per test session into a template (a file on SQLite, `CREATE DATABASE … TEMPLATE`
on PostgreSQL); each test gets its own copy, so tests never see each other's rows. The PostgreSQL copies are
dropped in the background, several at once: a `DROP DATABASE` waits for a checkpoint (0.7–2 s each on the CI
machine, ≈450 tests), and drops running together share one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import queue
import shutil
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from piccolo.engine.postgres import PostgresEngine

from backend import db
from backend.migrate import migrate
from backend.settings import Settings
from tests.support.ci import IN_CI
from tests.support.factories import Org, make_org

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
RUN_ID = uuid.uuid4().hex[:8]


def pg_admin_url() -> str | None:
    """The PostgreSQL server to test against, or None when there is none (skip locally, fail in CI)."""
    url = os.environ.get("IPMS_TEST_POSTGRES_URL") or DEFAULT_PG

    async def probe() -> None:
        connection = await asyncpg.connect(url, timeout=3)
        await connection.close()

    try:
        asyncio.run(probe())
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        if IN_CI or os.environ.get("IPMS_TEST_POSTGRES_URL"):
            raise RuntimeError(f"PostgreSQL at {url} is required here but unreachable: {exc}") from exc
        return None
    return url


def with_database(url: str, name: str) -> str:
    base = url.rsplit("/", 1)[0]
    return f"{base}/{name}"


async def admin_execute(url: str, *statements: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"

    async def build() -> None:
        engine = db.AppSQLiteEngine(str(path))
        db.bind(engine)
        await engine.open()
        try:
            await migrate()
            await engine.writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            await engine.close()

    asyncio.run(build())
    return path


class Dropper:
    """Drops databases from a thread of its own, up to `BATCH` at once, while the tests go on."""

    BATCH = 8

    def __init__(self, admin: str) -> None:
        self.admin = admin
        self.names: queue.Queue[str | None] = queue.Queue()
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, name="drop-test-databases", daemon=True)
        self.thread.start()

    def drop(self, name: str) -> None:
        self.names.put(name)

    def close(self) -> None:
        """Wait until every database handed over is dropped; raise the first failure."""
        self.names.put(None)
        self.thread.join()
        if self.errors:
            raise self.errors[0]

    def _run(self) -> None:
        closing = False
        while not closing:
            batch = [self.names.get()]
            while len(batch) < self.BATCH and not self.names.empty():
                batch.append(self.names.get())
            closing = None in batch
            names = [name for name in batch if name is not None]
            try:
                asyncio.run(self._drop(names))
            except Exception as exc:
                self.errors.append(exc)

    async def _drop(self, names: list[str]) -> None:
        await asyncio.gather(*(admin_execute(self.admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                               for name in names))


@dataclasses.dataclass(frozen=True)
class PgTemplate:
    admin: str  # the server's admin URL
    name: str  # the migrated template database
    dropper: Dropper


@pytest.fixture(scope="session")
def pg_template() -> Iterator[PgTemplate | None]:
    admin = pg_admin_url()
    if admin is None:
        yield None
        return
    name = f"ipms_tpl_{RUN_ID}"
    asyncio.run(admin_execute(admin, f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"'))

    async def build() -> None:
        engine = PostgresEngine(config={"dsn": with_database(admin, name)})
        db.bind(engine)
        await engine.start_connection_pool(min_size=1, max_size=2)
        try:
            await migrate()
        finally:
            await engine.close_connection_pool()

    asyncio.run(build())
    dropper = Dropper(admin)
    try:
        yield PgTemplate(admin, name, dropper)
    finally:
        dropper.drop(name)
        dropper.close()


@pytest.fixture(params=["sqlite", "postgres"])
def backend_name(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def settings(backend_name: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """Settings for this test's own database (a copied SQLite file or a PostgreSQL database from the template)."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    return copy_of_template(backend_name, data_dir, request)


def copy_of_template(backend_name: str, data_dir: Path, request: pytest.FixtureRequest) -> Settings:
    """Settings for a new copy of the migrated template, dropped when `request`'s scope ends."""
    if backend_name == "sqlite":
        shutil.copyfile(request.getfixturevalue("sqlite_template"), data_dir / "ipms.sqlite3")
        return Settings(env="test", data_dir=data_dir)
    template = request.getfixturevalue("pg_template")
    if template is None:
        pytest.skip("PostgreSQL not reachable at 127.0.0.1:5432 (set IPMS_TEST_POSTGRES_URL to run these)")
    name = f"ipms_t_{RUN_ID}_{uuid.uuid4().hex[:8]}"
    asyncio.run(admin_execute(template.admin, f'CREATE DATABASE "{name}" TEMPLATE "{template.name}"'))
    request.addfinalizer(lambda: template.dropper.drop(name))
    return Settings(env="test", data_dir=data_dir, database_url=with_database(template.admin, name))


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[Settings]:
    """The test's database, bound as Piccolo's engine for the test's duration."""
    engine = db.engine_for(settings)
    db.bind(engine)
    await db.start(engine, pool_size=4)
    try:
        yield settings
    finally:
        await db.stop(engine)


@pytest.fixture
async def api(database: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the Litestar app on this test's database (cookies are set per call)."""
    from backend.app import create_litestar

    # httpx's ASGI transport runs the app on this test's event loop (Litestar's test client would use a
    # thread of its own, and database connections belong to one loop). Lifespan is not needed: the
    # fixture already holds a migrated, started database.
    app = create_litestar(database, run_migrations=False, engine=db.current_engine())
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 4711))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
        yield client


@pytest.fixture
async def org(database: Settings) -> Org:
    """The two-branch organisation of tests/support/factories.py in this test's database."""
    return await make_org()


@pytest.fixture
def app_with(database: Settings) -> Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]:
    """`async with app_with(keep_originals=True) as client:` — the API on this test's database, other settings."""
    from backend.app import create_litestar

    @asynccontextmanager
    async def open_client(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        settings = dataclasses.replace(database, **overrides)
        app = create_litestar(settings, run_migrations=False, engine=db.current_engine())
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 4711))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
            yield client

    return open_client
