"""Baseline server for ``bench/api.py``: a bare Litestar app running the app's SQL directly.

No sessions, no access layer, no ORM: the caller names the owner in the query string (the scoped list) and the
author/branch in the body (the note), and the handlers run the same statements the app runs for those two paths
through raw ``aiosqlite`` (one persistent writer behind a lock + 4 persistent readers, the app's PRAGMAs) or an
``asyncpg`` pool (the app's default size, 10). Served by uvicorn with the same options as ``ipms serve``.

    python bench/api_baseline.py --port 8101 --sqlite var/ipms.sqlite3
    python bench/api_baseline.py --port 8101 --postgres postgresql://…/db [--workers 2]

Endpoints: ``GET /static`` (a constant: the load generator's ceiling), ``GET /healthz``,
``GET /clients?owner=<uuid>&limit=50&offset=0``, ``POST /notes`` {"body", "client_id", "author_id", "branch_id"}.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import datetime as dt
import json
import os
import sqlite3
import uuid
from typing import Any

import msgspec
from litestar import Litestar, get, post

PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA busy_timeout=30000",
           "PRAGMA foreign_keys=ON")  # the same as backend.db.PRAGMAS
COLUMNS = ("id", "branch", "owner", "name", "phone", "intent", "budget_min", "budget_max", "area_preference",
           "source", "tags", "private_notes", "created_at", "updated_at", "version")
SELECT = ", ".join(f'"clients"."{c}" AS "{c}"' for c in COLUMNS)


class NoteIn(msgspec.Struct, forbid_unknown_fields=True):
    body: str
    client_id: uuid.UUID
    author_id: uuid.UUID
    branch_id: uuid.UUID


def _dict_factory(cursor: sqlite3.Cursor, row: tuple) -> dict[str, Any]:
    return {name[0]: value for name, value in zip(cursor.description, row, strict=True)}


def _changes(note: dict[str, Any]) -> str:
    """The change-log payload the app writes for a create: every field of the new row."""
    return json.dumps({"before": {}, "after": {k: str(v) if v is not None else None for k, v in note.items()}},
                      ensure_ascii=False)


class ReaderPool:
    """Idle readers handed to waiters first come, first served (the same as backend.db.ReaderPool)."""

    def __init__(self) -> None:
        self._idle: collections.deque[Any] = collections.deque()
        self._waiters: collections.deque[asyncio.Future[Any]] = collections.deque()

    def put(self, connection: Any) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return
        self._idle.append(connection)

    async def get(self) -> Any:
        if self._idle:
            return self._idle.popleft()
        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.put(waiter.result())
            raise


class SQLiteStore:
    def __init__(self, path: str, readers: int = 4) -> None:
        self.path, self.reader_count = path, readers
        self.connections: list[Any] = []

    async def _connect(self) -> Any:
        import aiosqlite

        connection = await aiosqlite.connect(self.path, isolation_level=None)
        connection.row_factory = _dict_factory
        for pragma in PRAGMAS:
            await connection.execute(pragma)
        self.connections.append(connection)
        return connection

    async def open(self) -> None:
        self.writer = await self._connect()
        self.lock = asyncio.Lock()
        self.readers = ReaderPool()
        for _ in range(self.reader_count):
            self.readers.put(await self._connect())

    async def close(self) -> None:
        for connection in self.connections:
            await connection.close()

    async def list_clients(self, owner: uuid.UUID, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        reader = await self.readers.get()
        try:
            async with reader.execute(
                f'SELECT {SELECT} FROM "clients" WHERE "clients"."owner" = ? '
                f'ORDER BY "clients"."created_at" DESC, "clients"."id" ASC LIMIT ? OFFSET ?',
                (str(owner), limit, offset),
            ) as cursor:
                rows = await cursor.fetchall()
            async with reader.execute(
                'SELECT COUNT(*) AS "count" FROM "clients" WHERE "clients"."owner" = ?', (str(owner),)
            ) as cursor:
                total = (await cursor.fetchone())["count"]
        finally:
            self.readers.put(reader)
        return rows, total

    async def create_note(self, data: NoteIn) -> dict[str, Any]:
        now = str(dt.datetime.now(dt.UTC))
        note = {"id": str(uuid.uuid4()), "branch": str(data.branch_id), "author": str(data.author_id),
                "client": str(data.client_id), "project": None, "visit": None, "body": data.body,
                "created_at": now, "updated_at": now, "version": 1}
        async with self.lock:
            await self.writer.execute("BEGIN IMMEDIATE")
            try:
                await self.writer.execute(
                    'INSERT INTO "notes" ("id", "branch", "author", "client", "project", "visit", "body", '
                    '"created_at", "updated_at", "version") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
                    tuple(note.values()),
                )
                await self.writer.execute(
                    'INSERT INTO "change_log" ("at", "actor_id", "action", "table_name", "row_id", "changes", '
                    '"branch_id", "owner_id") VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
                    (now, note["author"], "create", "notes", note["id"], _changes(note), note["branch"],
                     note["author"]),
                )
                await self.writer.execute("COMMIT")
            except BaseException:
                await self.writer.execute("ROLLBACK")
                raise
        return note


class PostgresStore:
    def __init__(self, dsn: str, pool_size: int = 10) -> None:
        self.dsn, self.pool_size = dsn, pool_size

    async def open(self) -> None:
        import asyncpg

        self.pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=self.pool_size)

    async def close(self) -> None:
        await self.pool.close()

    async def list_clients(self, owner: uuid.UUID, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        async with self.pool.acquire() as connection:
            rows = await connection.fetch(
                f'SELECT {SELECT} FROM "clients" WHERE "clients"."owner" = $1 '
                f'ORDER BY "clients"."created_at" DESC, "clients"."id" ASC LIMIT $2 OFFSET $3',
                owner, limit, offset,
            )
            total = await connection.fetchval('SELECT COUNT(*) FROM "clients" WHERE "clients"."owner" = $1', owner)
        return [dict(r) for r in rows], total

    async def create_note(self, data: NoteIn) -> dict[str, Any]:
        now = dt.datetime.now(dt.UTC)
        note = {"id": uuid.uuid4(), "branch": data.branch_id, "author": data.author_id, "client": data.client_id,
                "project": None, "visit": None, "body": data.body, "created_at": now, "updated_at": now, "version": 1}
        async with self.pool.acquire() as connection, connection.transaction():
            await connection.execute(
                'INSERT INTO "notes" ("id", "branch", "author", "client", "project", "visit", "body", '
                '"created_at", "updated_at", "version") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)',
                *note.values(),
            )
            await connection.execute(
                'INSERT INTO "change_log" ("at", "actor_id", "action", "table_name", "row_id", "changes", '
                '"branch_id", "owner_id") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
                now, data.author_id, "create", "notes", str(note["id"]), _changes(note), data.branch_id,
                data.author_id,
            )
        return note


def create_app(store: SQLiteStore | PostgresStore) -> Litestar:
    @get("/static")
    async def static() -> dict[str, Any]:
        return {"ok": True, "service": "baseline"}

    @get("/healthz")
    async def health() -> dict[str, Any]:
        return {"ok": True}

    @get("/clients")
    async def list_clients(owner: uuid.UUID, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        items, total = await store.list_clients(owner, limit, offset)
        return {"items": items, "total": total, "limit": limit, "offset": offset}

    @post("/notes")
    async def create_note(data: NoteIn) -> dict[str, Any]:
        return await store.create_note(data)

    async def on_startup() -> None:
        await store.open()

    async def on_shutdown() -> None:
        await store.close()

    return Litestar(route_handlers=[static, health, list_clients, create_note], on_startup=[on_startup],
                    on_shutdown=[on_shutdown], debug=False, logging_config=None)


def app_from_env() -> Litestar:
    """The app for each of several uvicorn workers (`--workers`), configured through the environment."""
    sqlite, postgres = os.environ.get("BASELINE_SQLITE"), os.environ.get("BASELINE_POSTGRES", "")
    readers, pool_size = int(os.environ["BASELINE_READERS"]), int(os.environ["BASELINE_POOL_SIZE"])
    return create_app(SQLiteStore(sqlite, readers) if sqlite else PostgresStore(postgres, pool_size))


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--sqlite", help="path of the SQLite database file")
    where.add_argument("--postgres", help="PostgreSQL DSN")
    parser.add_argument("--readers", type=int, default=4, help="SQLite reader connections (the app's default: 4)")
    parser.add_argument("--pool-size", type=int, default=10, help="asyncpg pool size (the app's default: 10)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (as `ipms serve --workers`)")
    args = parser.parse_args()
    # The same uvicorn options as `ipms serve` (backend/cli.py), access log included.
    options: dict[str, Any] = {"host": args.host, "port": args.port, "proxy_headers": False, "log_level": "info"}
    if args.workers > 1:
        os.environ.update(BASELINE_SQLITE=args.sqlite or "", BASELINE_POSTGRES=args.postgres or "",
                          BASELINE_READERS=str(args.readers), BASELINE_POOL_SIZE=str(args.pool_size))
        uvicorn.run("api_baseline:app_from_env", factory=True, workers=args.workers,
                    app_dir=os.path.dirname(os.path.abspath(__file__)), **options)
        return
    store = SQLiteStore(args.sqlite, args.readers) if args.sqlite else PostgresStore(args.postgres, args.pool_size)
    uvicorn.run(create_app(store), **options)


if __name__ == "__main__":
    main()
