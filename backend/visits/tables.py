"""Site visits and viewings, and the notes written about clients, projects and visits."""

from piccolo.columns import UUID, Boolean, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from backend.accounts.tables import Branch, User
from backend.clients.tables import Client
from backend.projects.tables import Project

VISIT_STATUSES = ("planned", "done", "cancelled", "no_show")


class Visit(Table, tablename="visits"):
    id = UUID(primary_key=True)
    branch = ForeignKey(Branch, on_delete=OnDelete.restrict, null=False)
    owner = ForeignKey(User, on_delete=OnDelete.restrict, null=False)
    client = ForeignKey(Client, on_delete=OnDelete.restrict, null=False)
    project = ForeignKey(Project, on_delete=OnDelete.restrict, null=True)
    address = Varchar(length=300)
    scheduled_at = Timestamptz(index=True)
    duration_minutes = Integer(default=60)
    status = Varchar(length=16, default="planned")
    summary = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    version = Integer(default=1)


class Note(Table, tablename="notes"):
    """A note on exactly one of client, project or visit; `client_op_id` makes offline creates idempotent.

    `written_at`: when the phone says it was written (queued offline, it may reach the server hours later),
    corrected by the batch's clock offset; null for notes written online or by an older field kit. `clock_skewed`:
    the phone's clock was more than 10 minutes off the server's when it sent the note."""

    id = UUID(primary_key=True)
    branch = ForeignKey(Branch, on_delete=OnDelete.restrict, null=False)
    author = ForeignKey(User, on_delete=OnDelete.restrict, null=False)
    client = ForeignKey(Client, on_delete=OnDelete.restrict, null=True)
    project = ForeignKey(Project, on_delete=OnDelete.restrict, null=True)
    visit = ForeignKey(Visit, on_delete=OnDelete.restrict, null=True)
    body = Text()
    written_at = Timestamptz(null=True, default=None)
    clock_skewed = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    version = Integer(default=1)
