"""Request bodies and replies of the inbox API."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec

from backend.schemas import Timestamp, check_time


class ReadAll(msgspec.Struct, forbid_unknown_fields=True):
    up_to: Timestamp | None = None  # only items created up to this time (what the user has seen)

    def __post_init__(self) -> None:
        check_time("up_to", self.up_to)


class InboxItemOut(msgspec.Struct, kw_only=True):
    """One alert, its title and body in the reader's language; `urgent` only while it is (an escalation or an
    overdue item whose milestone is still open); `project_id` groups alerts by project."""

    id: uuid.UUID
    kind: str
    title: str
    body: str
    link: str
    topic: str
    urgency: str
    urgent: bool
    source_id: uuid.UUID | None
    subject_id: uuid.UUID | None
    project_id: uuid.UUID | None
    project_title: str
    params: dict[str, Any]
    read_at: dt.datetime | None
    created_at: dt.datetime
    read: bool


class InboxPage(msgspec.Struct, kw_only=True):
    """One page of the inbox, newest first; `unread` counts every unread item (the badge)."""

    items: list[InboxItemOut]
    total: int
    unread: int
    urgent: int  # unread and urgent (the filter's count)
    kinds: list[str]  # the kinds the reader has, for the kind filter
    limit: int
    offset: int


class UnreadCount(msgspec.Struct, kw_only=True):
    unread: int


class MarkedRead(msgspec.Struct, kw_only=True):
    marked: int
    unread: int
