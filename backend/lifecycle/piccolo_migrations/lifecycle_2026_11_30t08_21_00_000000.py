"""Partial indexes Piccolo cannot declare: the clock's claim reads only pending timers in due order, and the
overdue lists read only open milestones. Literal predicates (state = 'pending') let SQLite and PostgreSQL match
the claim query's own literal."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-30T08:21:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "partial indexes for due timers and open milestones"

INDEXES = {
    "lifecycle_timers_pending_due": "lifecycle_timers (due_at) WHERE state = 'pending'",
    "project_milestones_open_due": "project_milestones (due_at) WHERE state = 'open'",
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="lifecycle", description=DESCRIPTION)

    async def create() -> None:
        engine = engine_finder()
        assert engine is not None
        for name, target in INDEXES.items():
            await engine.run_ddl(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")

    async def drop() -> None:
        engine = engine_finder()
        assert engine is not None
        for name in INDEXES:
            await engine.run_ddl(f"DROP INDEX IF EXISTS {name}")

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
