"""Request bodies of the lifecycle API (msgspec validates them and names the field on error) and its replies."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Annotated, Literal

import msgspec

from backend.lifecycle.definitions import Key, TemplateDef
from backend.lifecycle.workhours import CalendarDef
from backend.projects.schemas import ProjectOut
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


class RejectReview(msgspec.Struct, forbid_unknown_fields=True):
    version: Version
    comment: Annotated[str, msgspec.Meta(min_length=1, max_length=2000, pattern=NO_NUL)]


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


# Replies. Each names its fields, so the OpenAPI document describes them; the JSON keys are the API's contract.

class MilestoneOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    project_id: uuid.UUID
    branch_id: uuid.UUID
    stage_id: uuid.UUID
    stage_key: str
    key: str
    position: int
    title_zh: str
    title_en: str
    owner_id: uuid.UUID | None
    owner_rule: str
    auto: str
    state: str
    due_at: dt.datetime | None
    done_at: dt.datetime | None
    done_by_id: uuid.UUID | None
    note: str
    escalation_level: int
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int
    overdue: bool
    # Sent by the reads that join them (a milestone list, a project's lifecycle, one milestone).
    owner_name: str | msgspec.UnsetType | None = msgspec.UNSET
    project_title: str | msgspec.UnsetType = msgspec.UNSET


class CollectionOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    project_id: uuid.UUID
    branch_id: uuid.UUID
    amount: decimal.Decimal
    received_on: dt.date
    method: str
    note: str
    recorded_by_id: uuid.UUID
    created_at: dt.datetime
    # A corrected payment says why; a voided one also when and by whom (it then counts for nothing).
    reason: str = ""
    voided_at: dt.datetime | None = None
    voided_by_id: uuid.UUID | None = None
    updated_at: dt.datetime | None = None
    version: int = 1


class CollectionRecorded(msgspec.Struct, kw_only=True):
    """The payment, the project with its new collected total, and the milestones that completed with it."""

    collection: CollectionOut
    project: ProjectOut
    completed_milestone_ids: list[uuid.UUID]


class CollectionUndone(msgspec.Struct, kw_only=True):
    """A corrected or voided payment, the project with its recounted total, and the full-collection milestones
    that completed or opened again with it."""

    collection: CollectionOut
    project: ProjectOut
    changed_milestone_ids: list[uuid.UUID]


class NudgeOut(msgspec.Struct, kw_only=True):
    notified_user_id: uuid.UUID
    inbox_item_id: uuid.UUID
    at: dt.datetime
    repeated: bool = False  # the same nudge again within ten minutes: nothing new was sent


class StageEntryOut(msgspec.Struct, kw_only=True):
    """One stay of the project in one stage (its history)."""

    id: uuid.UUID
    stage_key: str
    position: int
    owner_id: uuid.UUID | None
    owner_name: str | None
    entered_at: dt.datetime
    entered_by_id: uuid.UUID | None
    due_at: dt.datetime | None
    left_at: dt.datetime | None
    left_by_id: uuid.UUID | None
    outcome: str
    note: str


class CurrentStageOut(StageEntryOut, kw_only=True):
    name_zh: str
    name_en: str


class StageStatusOut(msgspec.Struct, kw_only=True):
    """A stage of the project's template and where the project stands with it."""

    key: str
    name_zh: str
    name_en: str
    position: int
    owner_rule: str
    sla_hours: int
    requires: list[str]
    status: Literal["done", "current", "upcoming"]


class VersionRef(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    number: int


class LifecycleOut(msgspec.Struct, kw_only=True):
    project: ProjectOut
    status: str
    stage_key: str
    stage_entered_at: dt.datetime | None
    next_due_at: dt.datetime | None
    overdue: bool
    escalation_level: int
    template_version: VersionRef | None
    stages: list[StageStatusOut]
    current_stage: CurrentStageOut | None
    milestones: list[MilestoneOut]
    history: list[StageEntryOut]
    # Only for roles that see payments.
    collections: list[CollectionOut] | msgspec.UnsetType = msgspec.UNSET


class TemplateVersionOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    business_line_id: uuid.UUID
    number: int
    created_at: dt.datetime
    created_by_id: uuid.UUID | None
    note: str
    # Left out of the list of versions.
    definition: TemplateDef | msgspec.UnsetType = msgspec.UNSET


class CalendarOut(CalendarDef, kw_only=True):
    id: uuid.UUID
    branch_id: uuid.UUID
    version: int
    updated_at: dt.datetime


class CollectionCorrect(msgspec.Struct, forbid_unknown_fields=True):
    version: Version
    reason: Message
    amount: Money | msgspec.UnsetType = msgspec.UNSET
    received_on: dt.date | msgspec.UnsetType = msgspec.UNSET
    method: Method | msgspec.UnsetType = msgspec.UNSET


class CollectionVoid(msgspec.Struct, forbid_unknown_fields=True):
    version: Version
    reason: Message


class Reopen(msgspec.Struct, forbid_unknown_fields=True):
    version: Version
    reason: Message
