"""Shared field types for request bodies: msgspec validates them and names the field on error.

Every request value has a bound (issue 10: an unbounded integer reached the database and answered 500): strings a
length and no NUL character (PostgreSQL text cannot hold one, SQLite would store it), integers the range of the
column they are compared with, lists and maps a size. `backend.openapi` puts each bound in the OpenAPI document.
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Annotated

import msgspec

from backend.errors import Invalid

NO_NUL = r"^[^\x00]*$"
"""Text may hold any character but NUL."""
MAX_INT32 = 2**31 - 1  # PostgreSQL `integer` (versions, template numbers)
MAX_SEQ = 2**53 - 1
"""Sequence numbers and cursors: the largest integer JavaScript holds exactly (the field kit keeps cursors), well
inside PostgreSQL's `bigint` and SQLite's integers, and exact in the OpenAPI document (whose bounds are floats)."""


Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=NO_NUL)]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=NO_NUL)]
ShortText = Annotated[str, msgspec.Meta(max_length=500, pattern=NO_NUL)]
LongText = Annotated[str, msgspec.Meta(max_length=20_000, pattern=NO_NUL)]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
Phone = Annotated[str, msgspec.Meta(max_length=32, pattern=NO_NUL)]
Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=32, pattern=NO_NUL)]
MAX_TAGS = 20
Tags = Annotated[list[Tag], msgspec.Meta(max_length=MAX_TAGS)]
Money = Annotated[decimal.Decimal, msgspec.Meta(
    description="Amount in CNY, e.g. \"1200.50\"; 0 to 999,999,999,999.99",
    # msgspec takes no bounds on a Decimal: the services check the range (422 naming the field); the document
    # states the form a valid amount takes.
    extra_json_schema={"maxLength": 16, "pattern": r"^\d{1,12}(\.\d{1,2})?$"},
)]
Yuan = Annotated[int, msgspec.Meta(ge=0, le=MAX_INT32)]  # budgets: the column is an `integer`
Version = Annotated[int, msgspec.Meta(ge=1, le=MAX_INT32)]
Timestamp = Annotated[dt.datetime, msgspec.Meta(tz=True, description="ISO 8601 with its offset, 1900 to 2999")]
EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(3000, 1, 1, tzinfo=dt.UTC)


def check_time(name: str, value: object) -> None:
    """Times lie between 1900 and 2999. Past the ends, Python cannot turn some into UTC (0001-01-01T00:00+01:00
    raised OverflowError, a 500, on both databases) and deadline arithmetic would run off the calendar. Called
    from the `__post_init__` of request structs (msgspec passes the error through to the 422 handler)."""
    if not isinstance(value, dt.datetime):
        return
    try:
        inside = EARLIEST <= value.astimezone(dt.UTC) < LATEST
    except OverflowError:
        inside = False
    if not inside:
        raise Invalid(f"{name} must lie between the years 1900 and 2999", field=name)
