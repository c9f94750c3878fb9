"""Index for the push worker's claim: due pending deliveries, oldest first."""

from typing import Any

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.base import Engine
from piccolo.engine.finder import engine_finder

ID = "2026-11-30T08:13:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "push delivery claim index"

INDEXES = {
    "push_deliveries_due": "push_deliveries (next_attempt_at) WHERE status = 'pending'",
}


def _engine() -> Engine[Any]:
    engine = engine_finder()
    if engine is None:
        raise RuntimeError("no Piccolo engine: piccolo_conf.py defines DB")
    return engine


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="notifications", description=DESCRIPTION)

    async def create() -> None:
        engine = _engine()
        for name, target in INDEXES.items():
            await engine.run_ddl(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")

    async def drop() -> None:
        engine = _engine()
        for name in INDEXES:
            await engine.run_ddl(f"DROP INDEX IF EXISTS {name}")

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
