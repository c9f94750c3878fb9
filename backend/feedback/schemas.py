"""Feedback requests and replies (msgspec: a field too long is a 422 naming it)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec

from backend.schemas import NO_NUL, Version

TEXT_MAX = 4000  # characters: a long paragraph; 100 KB of text is refused naming `text`
FeedbackText = Annotated[str, msgspec.Meta(min_length=1, max_length=TEXT_MAX, pattern=NO_NUL)]
Short = Annotated[str, msgspec.Meta(max_length=64, pattern=NO_NUL)]
Status = Literal["new", "accepted", "done", "declined"]


class FeedbackIn(msgspec.Struct, forbid_unknown_fields=True):
    text: FeedbackText
    screen: Short = ""
    app_revision: Short = ""
    outbox: Annotated[str, msgspec.Meta(max_length=100, pattern=NO_NUL)] = ""


class TriageIn(msgspec.Struct, forbid_unknown_fields=True):
    version: Version
    status: Status
    reply: Annotated[str, msgspec.Meta(max_length=TEXT_MAX, pattern=NO_NUL)] = ""


class FeedbackOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    branch_id: uuid.UUID
    reporter_id: uuid.UUID
    reporter_name: str
    role: str
    screen: str
    app_revision: str
    outbox: str
    text: str
    topic: str
    status: str
    reply: str
    handled_by_id: uuid.UUID | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class TopicCount(msgspec.Struct):
    topic: str
    count: int


class SummaryOut(msgspec.Struct, kw_only=True):
    """The month's feedback by topic, most frequent first (the optimisation list the articles ask for)."""

    month: str
    total: int
    topics: list[TopicCount]
