"""The timeline's reply: one page of what happened to a client or a project, newest first."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Literal

import msgspec

Kind = Literal["note", "visit", "photo", "opportunity", "stage", "milestone", "reassignment", "collection"]


class TimelineItem(msgspec.Struct, kw_only=True):
    """One event. `text` is what it says (a note's words, a visit's address, a milestone's title); `text_en` the
    English title where the record has one; `state` the visit status, the opportunity state, the stage outcome or
    `voided`; `link` the screen that shows the record."""

    kind: Kind
    id: str  # the record's id (a change-log event: "log-<seq>")
    at: dt.datetime
    actor_id: uuid.UUID | None
    actor_name: str | None
    text: str = ""
    text_en: str = ""
    state: str = ""
    stage_key: str = ""
    amount: decimal.Decimal | None = None
    link: str = ""


class TimelinePage(msgspec.Struct, kw_only=True):
    items: list[TimelineItem]
    total: int
    limit: int
    offset: int
