"""Replies of the change-log API."""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec


class ChangeOut(msgspec.Struct, kw_only=True):
    """One change-log row; `changes` is the JSON text of the changed fields (before/after)."""

    seq: int
    at: dt.datetime
    actor_id: uuid.UUID | None
    action: str
    table_name: str
    row_id: str
    changes: str
    branch_id: uuid.UUID | None
    owner_id: uuid.UUID | None


class ChangePage(msgspec.Struct, kw_only=True):
    """Rows after `after_seq` in order; send `next_after_seq` as `after_seq` to read on (it stays put when there
    is nothing new)."""

    items: list[ChangeOut]
    next_after_seq: int
