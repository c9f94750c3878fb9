"""Business lines and projects (deals), with their team."""

from decimal import Decimal

from piccolo.columns import (
    UUID,
    Boolean,
    ForeignKey,
    Integer,
    Numeric,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from backend.accounts.tables import Branch, User
from backend.clients.tables import Client

PROJECT_STATUSES = ("open", "won", "lost")
MEMBER_KINDS = ("team", "milestone", "stage")


class BusinessLine(Table, tablename="business_lines"):
    id = UUID(primary_key=True)
    key = Varchar(length=32, unique=True)
    name_zh = Varchar(length=100)
    name_en = Varchar(length=100)
    active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    version = Integer(default=1)


class TemplateVersion(Table, tablename="lifecycle_template_versions"):
    """One immutable version of a business line's lifecycle; the lifecycle engine fills `definition`."""

    id = UUID(primary_key=True)
    business_line = ForeignKey(BusinessLine, on_delete=OnDelete.restrict, null=False)
    number = Integer(default=1)
    definition = Text(default="{}")
    created_at = Timestamptz(default=TimestamptzNow())
    created_by = ForeignKey(User, on_delete=OnDelete.restrict, null=True)
    note = Varchar(length=500, default="")


class Project(Table, tablename="projects"):
    id = UUID(primary_key=True)
    branch = ForeignKey(Branch, on_delete=OnDelete.restrict, null=False)
    business_line = ForeignKey(BusinessLine, on_delete=OnDelete.restrict, null=False)
    client = ForeignKey(Client, on_delete=OnDelete.restrict, null=True)
    title = Varchar(length=200)
    description = Text(default="")
    owner = ForeignKey(User, on_delete=OnDelete.restrict, null=False)
    manager = ForeignKey(User, on_delete=OnDelete.restrict, null=True)
    template_version = ForeignKey(TemplateVersion, on_delete=OnDelete.restrict, null=True)
    stage_key = Varchar(length=32, default="intake", index=True)
    status = Varchar(length=16, default="open", index=True)
    contract_value = Numeric(digits=(14, 2), default=Decimal("0"))
    collected_amount = Numeric(digits=(14, 2), default=Decimal("0"))
    opened_at = Timestamptz(default=TimestamptzNow())
    closed_at = Timestamptz(null=True, default=None)
    # Kept by the lifecycle engine: when the current stage began, the earliest open milestone deadline and the
    # highest escalation level reached by an open milestone.
    stage_entered_at = Timestamptz(null=True, default=None)
    next_due_at = Timestamptz(null=True, default=None, index=True)
    escalation_level = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    version = Integer(default=1)


class ProjectMember(Table, tablename="project_members"):
    """Who takes part in a project. `kind` says why: team member, milestone owner or stage owner (kept after)."""

    id = UUID(primary_key=True)
    project = ForeignKey(Project, on_delete=OnDelete.cascade, null=False)
    user = ForeignKey(User, on_delete=OnDelete.restrict, null=False)
    kind = Varchar(length=16, default="team")
    created_at = Timestamptz(default=TimestamptzNow())
