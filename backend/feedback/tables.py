"""In-app feedback: what a user wrote from a screen, with the context the app attached, and its triage."""

from piccolo.columns import UUID, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from backend.accounts.tables import Branch, User


class Feedback(Table, tablename="feedback"):
    id = UUID(primary_key=True)
    branch = ForeignKey(Branch, on_delete=OnDelete.restrict, null=False)  # the reporter's, when they wrote
    reporter = ForeignKey(User, on_delete=OnDelete.restrict, null=False)
    role = Varchar(length=32)
    screen = Varchar(length=64, default="")
    app_revision = Varchar(length=64, default="")
    outbox = Varchar(length=100, default="")  # the phone's outbox state when it was sent ("3 pending", "empty")
    text = Text()
    topic = Varchar(length=32, default="other", index=True)
    status = Varchar(length=16, default="new", index=True)
    reply = Text(default="")
    handled_by = ForeignKey(User, on_delete=OnDelete.set_null, null=True)
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
    updated_at = Timestamptz(default=TimestamptzNow())
    version = Integer(default=1)
