"""Database engines: SQLite with one persistent writer behind a write lock, or PostgreSQL with a pool.

Piccolo's own SQLite engine opens a connection per query and per transaction (≈10× slower, and deferred
transactions fail with "database is locked" under concurrency). This engine keeps one writer connection,
serialises writers with a process-wide lock, runs every write transaction as BEGIN IMMEDIATE and sends
plain reads to a few persistent reader connections (WAL lets them read while the writer writes).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import aiosqlite
from piccolo.apps.migrations.tables import Migration
from piccolo.conf.apps import Finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory
from piccolo.table import Table

from backend.settings import Settings, get_settings

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=30000",
    "PRAGMA foreign_keys=ON",
)
READ_PREFIXES = ("SELECT", "WITH", "PRAGMA TABLE_INFO", "EXPLAIN")


class WriterTransaction(SQLiteTransaction):
    """A transaction on the engine's persistent writer: takes the write lock, gives the connection back."""

    __slots__ = ("_lock_held",)

    async def __aenter__(self) -> SQLiteTransaction:
        if self._parent is not None:
            return self._parent
        engine: AppSQLiteEngine = self.engine  # type: ignore[assignment]
        await engine.open()
        await engine.write_lock.acquire()
        try:
            self.connection = engine.writer
            await self.begin()  # type: ignore[no-untyped-call]  # Piccolo's SQLiteTransaction.begin is unannotated
        except BaseException:
            engine.write_lock.release()
            raise
        self.context = engine.current_transaction.set(self)
        return self

    async def __aexit__(
        self,
        exception_type: type[BaseException] | None,
        exception: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        if self._parent:
            return exception is None
        engine: AppSQLiteEngine = self.engine  # type: ignore[assignment]
        try:
            if exception:
                if not self._rolled_back:
                    await self.rollback()  # type: ignore[no-untyped-call]  # unannotated in Piccolo
            elif not self._committed and not self._rolled_back:
                await self.commit()  # type: ignore[no-untyped-call]  # unannotated in Piccolo
        finally:
            engine.current_transaction.reset(self.context)
            engine.write_lock.release()
        return exception is None


class ReaderPool:
    """Idle reader connections, handed to waiters strictly first come, first served.

    `asyncio.Queue` lets a newcomer take a connection that was just given back before the waiter it woke
    runs; that waiter then queues again at the back. Under load some requests starved (bench/api.py: the
    scoped list's p95 was 5× its p50, and throughput lower); handing the connection straight to the oldest
    waiter keeps the order.
    """

    def __init__(self) -> None:
        self._idle: collections.deque[aiosqlite.Connection] = collections.deque()
        self._waiters: collections.deque[asyncio.Future[aiosqlite.Connection]] = collections.deque()

    def put(self, connection: aiosqlite.Connection) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return
        self._idle.append(connection)

    async def get(self) -> aiosqlite.Connection:
        if self._idle:  # never while someone waits: put() serves waiters first
            return self._idle.popleft()
        waiter: asyncio.Future[aiosqlite.Connection] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.put(waiter.result())  # handed over just as we were cancelled: pass it on
            raise


class AppSQLiteEngine(SQLiteEngine):
    """SQLite engine with persistent connections; see the module docstring for why."""

    def __init__(self, path: str, readers: int = 4) -> None:
        super().__init__(path=path, timeout=30)
        self.reader_count = max(1, readers)
        self._loop: asyncio.AbstractEventLoop | None = None
        self.writer: aiosqlite.Connection
        self.write_lock: asyncio.Lock
        self._readers: ReaderPool
        self._all: list[aiosqlite.Connection] = []

    async def _connect(self) -> aiosqlite.Connection:
        connection = await aiosqlite.connect(**self.connection_kwargs)
        connection.row_factory = dict_factory  # type: ignore[assignment]
        try:
            for pragma in PRAGMAS:
                await connection.execute(pragma)
        except BaseException:
            await connection.close()  # its thread is not a daemon: left open, the process never exits
            raise
        self._all.append(connection)
        return connection

    async def open(self) -> None:
        """Open the connections for the running event loop (again, if a test started a new loop)."""
        loop = asyncio.get_running_loop()
        if self._loop is loop:
            return
        if self._loop is not None:
            self._abandon()  # connections of a finished loop cannot be awaited from this one
        self._loop = loop
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)  # on start, not on import (./var)
        self.write_lock = asyncio.Lock()
        self.writer = await self._connect()
        self._readers = ReaderPool()
        for _ in range(self.reader_count):
            self._readers.put(await self._connect())

    async def close(self) -> None:
        if self._loop is asyncio.get_running_loop():
            for connection in self._all:
                await connection.close()
            self._all.clear()
        else:
            self._abandon()
        self._loop = None

    def _abandon(self) -> None:
        """Stop the threads of connections opened on another (finished) loop without awaiting them: each closes its
        connection and ends. Forgotten instead, their non-daemon threads would keep the process from exiting."""
        for connection in self._all:
            connection.stop()
        self._all.clear()

    async def get_connection(self) -> aiosqlite.Connection:
        await self.open()
        return self.writer

    def transaction(
        self, transaction_type: TransactionType = TransactionType.immediate, allow_nested: bool = True
    ) -> SQLiteTransaction:
        return WriterTransaction(engine=self, transaction_type=TransactionType.immediate, allow_nested=allow_nested)

    async def _execute(self, connection: aiosqlite.Connection, query: str, args: list[Any]) -> list[dict[str, Any]]:
        # One trip to the connection's thread (execute + fetchall together), not three (execute, fetchall,
        # close): under load each trip waits its turn on the event loop, and writes hold the write lock
        # across all of them (bench/api.py: note writes/s roughly doubled).
        return await connection.execute_fetchall(query, args)  # type: ignore[return-value]

    async def _run_in_existing_connection(
        self,
        connection: aiosqlite.Connection,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: type[Table] | None = None,
    ) -> list[dict[str, Any]]:
        return await self._execute(connection, query, args or [])

    async def _run_in_new_connection(
        self,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: type[Table] | None = None,
    ) -> list[dict[str, Any]]:
        await self.open()
        if query.lstrip().upper().startswith(READ_PREFIXES):
            reader = await self._readers.get()
            try:
                return await self._execute(reader, query, args or [])
            finally:
                self._readers.put(reader)
        async with self.write_lock:
            return await self._execute(self.writer, query, args or [])


def engine_for(settings: Settings) -> AppSQLiteEngine | PostgresEngine:
    if settings.uses_postgres:
        return PostgresEngine(config={"dsn": settings.database_url})
    return AppSQLiteEngine(path=str(settings.sqlite_path), readers=settings.sqlite_readers)


_bound: AppSQLiteEngine | PostgresEngine | None = None


def all_tables() -> list[type[Table]]:
    """Every table of the apps in Piccolo's registry (found through PICCOLO_CONF, as Piccolo finds it)."""
    registry = Finder().get_app_registry()
    tables = [t for config in registry.app_configs.values() for t in config.table_classes]
    return [*tables, Migration]


def bind(engine: AppSQLiteEngine | PostgresEngine) -> None:
    """Point Piccolo (every table, and the migration runner through `piccolo_conf.DB`) at `engine`."""
    global _bound
    _bound = engine
    for table in all_tables():
        table._meta.db = engine


def current_engine() -> AppSQLiteEngine | PostgresEngine:
    """The bound engine; until something binds one, the settings' database (built once, opened on first use)."""
    global _bound
    if _bound is None:
        _bound = engine_for(get_settings())
    return _bound


async def keep_session(connection: Any) -> None:
    """asyncpg's pool `reset`: nothing to send. By default every release sends `pg_advisory_unlock_all(); CLOSE
    ALL; UNLISTEN *; RESET ALL` (one more round trip per query outside a transaction, three or four per note
    create); the app sets no session state, holds no session locks, cursors or listeners, and asyncpg still rolls
    back a transaction left open."""


async def start(engine: AppSQLiteEngine | PostgresEngine, pool_size: int = 10) -> None:
    if isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(min_size=1, max_size=pool_size, reset=keep_session)
    else:
        await engine.open()


async def stop(engine: AppSQLiteEngine | PostgresEngine) -> None:
    if isinstance(engine, PostgresEngine):
        await engine.close_connection_pool()
    else:
        await engine.close()


log = logging.getLogger("ipms.db")
# What to run once the outermost write transaction of this task has committed (`after_commit`); None outside one.
_after_commit: contextvars.ContextVar[list[Callable[[], None]] | None] = contextvars.ContextVar(
    "ipms_after_commit", default=None)


@contextlib.asynccontextmanager
async def write_transaction() -> AsyncIterator[Any]:
    """The one way services open a write transaction (IMMEDIATE on SQLite; READ COMMITTED on PostgreSQL,
    where writers share no lock: the change-log feed waits for late committers, see backend.audit.read).

    Callbacks registered with `after_commit` inside it run once the outermost one has committed, and never when it
    rolls back; a nested call joins the outer transaction and its callbacks wait for the outer commit. (Inside a
    transaction opened on the engine directly, which only tests do, the callbacks run at once.)"""
    engine = current_engine()
    if _after_commit.get() is not None or engine.current_transaction.get() is not None:
        async with engine.transaction() as transaction:
            yield transaction
        return
    callbacks: list[Callable[[], None]] = []
    token = _after_commit.set(callbacks)
    try:
        async with engine.transaction() as transaction:
            yield transaction
    finally:
        _after_commit.reset(token)
    if getattr(transaction, "_rolled_back", False):
        return  # rolled back explicitly without raising
    for callback in callbacks:
        try:
            callback()
        except Exception:  # what follows a commit never fails the write that committed
            log.exception("An after-commit callback failed")


def after_commit(callback: Callable[[], None]) -> None:
    """Run `callback` after the current write transaction commits (at once outside one); dropped on rollback."""
    callbacks = _after_commit.get()
    if callbacks is None:
        callback()
    else:
        callbacks.append(callback)


def is_postgres() -> bool:
    return isinstance(current_engine(), PostgresEngine)
