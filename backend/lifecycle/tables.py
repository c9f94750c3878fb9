"""Lifecycle rows: stage history, milestones, escalation timers, collections (回款) and branch calendars."""

from decimal import Decimal

from piccolo.columns import (
    UUID,
    Date,
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
from backend.projects.tables import Project

MILESTONE_STATES = ("open", "done", "cancelled")
TIMER_STATES = ("pending", "fired", "cancelled", "failed")
TIMER_KINDS = ("reminder", "escalation")
STAGE_OUTCOMES = ("", "advanced", "sent_back", "won", "lost")
PAYMENT_METHODS = ("bank_transfer", "cash", "cheque", "card", "alipay", "wechat_pay", "other")


class StageEntry(Table, tablename="project_stages"):
    """One stay of a project in one stage: the stage history and the source of cycle-time analytics.

    Stage history, milestones and timers belong to their project and go with it if a branch manager deletes it;
    collections (money received) do not, so a project with payments cannot be deleted.
    """

    id = UUID(primary_key=True)
    project = ForeignKey(Project, on_delete=OnDelete.cascade, null=False, index=True)
    branch = ForeignKey(Branch, on_delete=OnDelete.restrict, null=False)
    stage_key = Varchar(length=32, index=True)
    position = Integer(default=0)
    owner = ForeignKey(User, on_delete=OnDelete.restrict, null=True)
    entered_at = Timestamptz(default=TimestamptzNow())
    entered_by = ForeignKey(User, on_delete=OnDelete.restrict, null=True)
    due_at = Timestamptz(null=True, default=None)
    left_at = Timestamptz(null=True, default=None)
    left_by = ForeignKey(User, on_delete=OnDelete.restrict, null=True)
    outcome = Varchar(length=16, default="")
    note = Text(default="")


class Milestone(Table, tablename="project_milestones"):
    id = UUID(primary_key=True)
    project = ForeignKey(Project, on_delete=OnDelete.cascade, null=False, index=True)
    branch = ForeignKey(Branch, on_delete=OnDelete.restrict, null=False, index=True)
    stage = ForeignKey(StageEntry, on_delete=OnDelete.cascade, null=False, index=True)
    stage_key = Varchar(length=32)
    key = Varchar(length=32)
    position = Integer(default=0)
    title_zh = Varchar(length=200)
    title_en = Varchar(length=200)
    owner = ForeignKey(User, on_delete=OnDelete.restrict, null=True, index=True)
    owner_rule = Varchar(length=32, default="")  # the template's owner rule, resolved when the stage was entered
    auto = Varchar(length=32, default="")  # "full_collection": completes itself when the contract is collected
    state = Varchar(length=16, default="open", index=True)
    due_at = Timestamptz(null=True, default=None, index=True)
    done_at = Timestamptz(null=True, default=None)
    done_by = ForeignKey(User, on_delete=OnDelete.restrict, null=True)
    note = Text(default="")
    escalation_level = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    version = Integer(default=1)


class Timer(Table, tablename="lifecycle_timers"):
    """A reminder or escalation step of one milestone, fired exactly once by whichever clock claims it first."""

    id = UUID(primary_key=True)
    milestone = ForeignKey(Milestone, on_delete=OnDelete.cascade, null=False, index=True)
    project = ForeignKey(Project, on_delete=OnDelete.cascade, null=False)
    branch = ForeignKey(Branch, on_delete=OnDelete.restrict, null=False)
    kind = Varchar(length=16)
    level = Integer(default=0)
    target = Varchar(length=16)  # owner | supervisor | branch_manager | above_branch | role | user
    target_role = Varchar(length=32, default="")
    target_user = ForeignKey(User, on_delete=OnDelete.restrict, null=True)
    due_at = Timestamptz()
    state = Varchar(length=16, default="pending")
    fired_at = Timestamptz(null=True, default=None)
    cancelled_at = Timestamptz(null=True, default=None)
    worker = Varchar(length=64, default="")
    created_at = Timestamptz(default=TimestamptzNow())


class Collection(Table, tablename="project_collections"):
    """A payment received against a project (回款). A mistake is corrected (new amount, date or method) or voided,
    never deleted: a voided payment stays on the record, counts for nothing, and says who voided it and why."""

    id = UUID(primary_key=True)
    project = ForeignKey(Project, on_delete=OnDelete.restrict, null=False, index=True)
    branch = ForeignKey(Branch, on_delete=OnDelete.restrict, null=False)
    amount = Numeric(digits=(14, 2), default=Decimal(0))
    received_on = Date()
    method = Varchar(length=32, default="bank_transfer")
    note = Varchar(length=500, default="")
    recorded_by = ForeignKey(User, on_delete=OnDelete.restrict, null=False)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(null=True, default=None)  # last corrected or voided; a new column must not default to
    voided_at = Timestamptz(null=True, default=None)  # now(): SQLite refuses that on a table with rows
    voided_by = ForeignKey(User, on_delete=OnDelete.restrict, null=True)
    reason = Varchar(length=500, default="")  # why it was last corrected or voided
    version = Integer(default=1)


class BusinessCalendar(Table, tablename="business_calendars"):
    """A branch's working days, hours and holidays (JSON in `definition`), read in the branch's time zone."""

    id = UUID(primary_key=True)
    branch = ForeignKey(Branch, on_delete=OnDelete.restrict, null=False, unique=True)
    definition = Text(default="{}")
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    version = Integer(default=1)
