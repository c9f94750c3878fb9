from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import UUID, ForeignKey, Integer, Timestamptz, Varchar
from piccolo.columns.defaults.uuid import UUID4
from piccolo.columns.indexes import IndexMethod
from piccolo.engine.finder import engine_finder
from piccolo.table import Table

# One number per business line: two admins saving at once cannot both create "version 3".
UNIQUE_VERSION = (
    "CREATE UNIQUE INDEX IF NOT EXISTS lifecycle_template_versions_line_number "
    "ON lifecycle_template_versions (business_line, number)"
)


class User(Table, tablename="users", schema=None):
    id = UUID(
        default=UUID4(),
        null=False,
        primary_key=True,
        unique=False,
        index=False,
        index_method=IndexMethod.btree,
        choices=None,
        db_column_name=None,
        secret=False,
    )


ID = "2026-11-30T08:08:06:208013"
VERSION = "1.38.0"
DESCRIPTION = "lifecycle rollups on projects; template version author, note and unique number"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="projects", description=DESCRIPTION
    )

    async def unique_version_number() -> None:
        engine = engine_finder()
        assert engine is not None  # Piccolo found the engine to run this migration
        await engine.run_ddl(UNIQUE_VERSION)

    async def drop_unique_version_number() -> None:
        engine = engine_finder()
        assert engine is not None  # Piccolo found the engine to run this migration
        await engine.run_ddl("DROP INDEX IF EXISTS lifecycle_template_versions_line_number")

    manager.add_raw(unique_version_number)
    manager.add_raw_backwards(drop_unique_version_number)

    manager.add_column(
        table_class_name="Project",
        tablename="projects",
        column_name="escalation_level",
        db_column_name="escalation_level",
        column_class_name="Integer",
        column_class=Integer,
        params={
            "default": 0,
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="Project",
        tablename="projects",
        column_name="next_due_at",
        db_column_name="next_due_at",
        column_class_name="Timestamptz",
        column_class=Timestamptz,
        params={
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": True,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="Project",
        tablename="projects",
        column_name="stage_entered_at",
        db_column_name="stage_entered_at",
        column_class_name="Timestamptz",
        column_class=Timestamptz,
        params={
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="TemplateVersion",
        tablename="lifecycle_template_versions",
        column_name="created_by",
        db_column_name="created_by",
        column_class_name="ForeignKey",
        column_class=ForeignKey,
        params={
            "references": User,
            "on_delete": OnDelete.restrict,
            "on_update": OnUpdate.cascade,
            "target_column": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="TemplateVersion",
        tablename="lifecycle_template_versions",
        column_name="note",
        db_column_name="note",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 500,
            "default": "",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
