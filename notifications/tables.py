"""Inbox items: one row per recipient per alert, written in the transaction of the event that caused it."""

from piccolo.columns import JSON, UUID, ForeignKey, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.reference import LazyTableReference
from piccolo.table import Table

URGENCIES = ("normal", "high")


class InboxItem(Table, tablename="inbox_items"):
    id = UUID(primary_key=True)
    user: ForeignKey[Table] = ForeignKey(
        LazyTableReference("User", module_path="backend.accounts.tables"), on_delete=OnDelete.restrict, null=False
    )
    kind = Varchar(length=32)
    title = Varchar(length=200)
    body = Text(default="")
    link = Varchar(length=500, default="")
    topic = Varchar(length=64, default="")  # collapse key for push: one per project
    urgency = Varchar(length=8, default="normal")
    source_id = UUID(null=True, default=None, index=True)  # the timer, milestone or stage that caused it
    # What the alert says, as data (its kind's parameters, rendered in the reader's language when read); `title`
    # and `body` keep the recipient's language at the time, for the push and for rows older than this column.
    params = JSON(default="{}")
    subject_id = UUID(null=True, default=None, index=True)  # the record it is about (a milestone, a project)
    read_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
