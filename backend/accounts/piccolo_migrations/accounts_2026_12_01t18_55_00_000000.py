"""Tokens made before expiry existed get the default term from today (not from their creation, which would cut
off integrations at upgrade time); token prefixes are removed from the change log, where branch managers saw them.

A data step of its own: Piccolo runs a migration's raw steps before its column changes.
"""

import datetime as dt
import json

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns import JSON, BigSerial, Timestamptz, Varchar
from piccolo.engine.finder import engine_finder
from piccolo.table import Table

ID = "2026-12-01T18:55:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "expiry for existing API tokens; no token prefixes in the change log"
EXISTING_TOKEN_DAYS = 90


class ApiToken(Table, tablename="api_tokens", schema=None):
    expires_at = Timestamptz(null=True, default=None)


class ChangeLog(Table, tablename="change_log", schema=None):
    seq = BigSerial(primary_key=True)
    table_name = Varchar(length=64)
    changes = JSON(default="{}")


def _on_migrated_database() -> None:
    """These tables took the engine bound when this module was first imported; a process that migrates several
    databases (tests, `ipms` restoring) must write to the one being migrated now."""
    engine = engine_finder()
    assert engine is not None  # PICCOLO_CONF names one
    for table in (ApiToken, ChangeLog):
        table._meta.db = engine


def _without_prefix(changes: object) -> object:
    data = json.loads(changes) if isinstance(changes, str) else changes
    if isinstance(data, dict):
        for side in ("before", "after"):
            if isinstance(data.get(side), dict):
                data[side].pop("prefix", None)
    return data


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="accounts", description=DESCRIPTION)

    async def expire_existing_tokens() -> None:
        _on_migrated_database()
        until = dt.datetime.now(dt.UTC) + dt.timedelta(days=EXISTING_TOKEN_DAYS)
        await ApiToken.update({ApiToken.expires_at: until}).where(ApiToken.expires_at.is_null())

    async def scrub_token_prefixes() -> None:
        if not await ChangeLog.table_exists():  # a new database: the audit app's tables come later
            return
        rows = await ChangeLog.select(ChangeLog.seq, ChangeLog.changes).where(ChangeLog.table_name == "api_tokens")
        for row in rows:
            if "prefix" in str(row["changes"]):
                await ChangeLog.update({ChangeLog.changes: _without_prefix(row["changes"])}).where(
                    ChangeLog.seq == row["seq"])

    manager.add_raw(expire_existing_tokens)
    manager.add_raw(scrub_token_prefixes)
    return manager
