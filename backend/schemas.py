"""Shared field types for request bodies: msgspec validates them and names the field on error."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Annotated

import msgspec

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
ShortText = Annotated[str, msgspec.Meta(max_length=500)]
LongText = Annotated[str, msgspec.Meta(max_length=20_000)]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
Phone = Annotated[str, msgspec.Meta(max_length=32)]
Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
Money = Annotated[decimal.Decimal, msgspec.Meta(description="Amount in CNY, e.g. \"1200.50\"; 0 to 999,999,999,999.99")]
Yuan = Annotated[int, msgspec.Meta(ge=0, le=10**12)]
Version = Annotated[int, msgspec.Meta(ge=1)]
Timestamp = Annotated[dt.datetime, msgspec.Meta(tz=True)]

