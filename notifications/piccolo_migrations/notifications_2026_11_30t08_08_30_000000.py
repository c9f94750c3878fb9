"""Indexes for a user's inbox (newest first) and for the unread count."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-30T08:08:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "inbox indexes"

INDEXES = {
    "inbox_items_user_created": 'inbox_items ("user", created_at)',
    "inbox_items_user_unread": 'inbox_items ("user") WHERE read_at IS NULL',
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="notifications", description=DESCRIPTION)

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
