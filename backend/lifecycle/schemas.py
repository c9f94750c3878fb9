"""Request bodies of the lifecycle API (msgspec validates them and names the field on error)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec

from backend.lifecycle.definitions import Key, TemplateDef
from backend.lifecycle.workhours import CalendarDef
from backend.schemas import MAX_INT32, NO_NUL, Money, ShortText, Timestamp, Version, check_time

Message = Annotated[str, msgspec.Meta(min_length=1, max_length=500, pattern=NO_NUL)]
Method = Literal["bank_transfer", "cash", "cheque", "card", "alipay", "wechat_pay", "other"]


class Advance(msgspec.Struct, forbid_unknown_fields=True):
    version: Version
    note: ShortText = ""


class SendBack(msgspec.Struct, forbid_unknown_fields=True):
    version: Version
    to_stage: Key
    reason: ShortText


class Close(msgspec.Struct, forbid_unknown_fields=True):
    version: Version
    outcome: Literal["won", "lost"]
    reason: ShortText = ""


class Complete(msgspec.Struct, forbid_unknown_fields=True):
    version: Version
    note: ShortText = ""


class ReassignMilestone(msgspec.Struct, forbid_unknown_fields=True):
    owner_id: uuid.UUID
    version: Version
    due_at: Timestamp | None = None

    def __post_init__(self) -> None:
        check_time("due_at", self.due_at)


class Nudge(msgspec.Struct, forbid_unknown_fields=True):
    message: Message


class CollectionCreate(msgspec.Struct, forbid_unknown_fields=True):
    amount: Money
    received_on: dt.date
    method: Method = "bank_transfer"
    note: ShortText = ""


class TemplateSave(msgspec.Struct, forbid_unknown_fields=True):
    definition: TemplateDef
    based_on: Annotated[int, msgspec.Meta(ge=1, le=MAX_INT32, description="The version number you edited")]
    note: ShortText = ""


class CalendarSave(CalendarDef, forbid_unknown_fields=True):
    version: Version | None = None  # omit to create; the current version to replace
