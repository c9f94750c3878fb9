"""Clients with profile tags, and their opportunities."""

from decimal import Decimal

from piccolo.columns import (
    UUID,
    Array,
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

INTENTS = ("buy", "rent", "sell", "lease", "invest", "legal_service", "hire", "job_seek")
SOURCES = ("referral", "walk_in", "online", "phone", "event", "returning", "other")
OPPORTUNITY_STATES = ("potential", "following", "won", "lost")


class Client(Table, tablename="clients"):
    id = UUID(primary_key=True)
    branch = ForeignKey(Branch, on_delete=OnDelete.restrict, null=False)
    owner = ForeignKey(User, on_delete=OnDelete.restrict, null=False)
    name = Varchar(length=100)
    phone = Varchar(length=32, default="")
    intent = Varchar(length=32, default="buy")
    budget_min = Integer(null=True, default=None)
    budget_max = Integer(null=True, default=None)
    area_preference = Varchar(length=100, default="")
    source = Varchar(length=32, default="other")
    tags = Array(base_column=Varchar(length=32), default=list)
    private_notes = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    version = Integer(default=1)


class Opportunity(Table, tablename="opportunities"):
    id = UUID(primary_key=True)
    branch = ForeignKey(Branch, on_delete=OnDelete.restrict, null=False)
    owner = ForeignKey(User, on_delete=OnDelete.restrict, null=False)
    client = ForeignKey(Client, on_delete=OnDelete.restrict, null=False)
    title = Varchar(length=200)
    state = Varchar(length=16, default="potential", index=True)
    value = Numeric(digits=(14, 2), default=Decimal(0))
    lost_reason = Varchar(length=500, default="")
    closed_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    version = Integer(default=1)
