import datetime as dt
import decimal
import uuid
from typing import Annotated, Literal

import msgspec

from backend.schemas import Code, LongText, Money, Name, Title, Version

StageKey = Annotated[str, msgspec.Meta(min_length=1, max_length=32, pattern=r"^[a-z_]+$")]


class ProjectCreate(msgspec.Struct, forbid_unknown_fields=True):
    title: Title
    business_line_id: uuid.UUID
    client_id: uuid.UUID | None = None
    manager_id: uuid.UUID | None = None
    description: LongText = ""
    contract_value: Money = decimal.Decimal(0)
    owner_id: uuid.UUID | None = None
    # A project started from a won opportunity names it (its client comes along); the team joins at once.
    opportunity_id: uuid.UUID | None = None
    team_ids: Annotated[list[uuid.UUID], msgspec.Meta(max_length=20)] = []


class ProjectUpdate(msgspec.Struct, forbid_unknown_fields=True):
    version: Version
    title: Title | msgspec.UnsetType = msgspec.UNSET
    client_id: uuid.UUID | msgspec.UnsetType | None = msgspec.UNSET
    manager_id: uuid.UUID | msgspec.UnsetType | None = msgspec.UNSET
    description: LongText | msgspec.UnsetType = msgspec.UNSET
    contract_value: Money | msgspec.UnsetType = msgspec.UNSET


class MemberAdd(msgspec.Struct, forbid_unknown_fields=True):
    user_id: uuid.UUID


class BusinessLineCreate(msgspec.Struct, forbid_unknown_fields=True):
    key: Code
    name_zh: Name
    name_en: Name
    active: bool = True


class BusinessLineUpdate(msgspec.Struct, forbid_unknown_fields=True):
    version: Version
    name_zh: Name | msgspec.UnsetType = msgspec.UNSET
    name_en: Name | msgspec.UnsetType = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET


ProjectStatus = Literal["open", "won", "lost"]


class BusinessLineOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    key: str
    name_zh: str
    name_en: str
    active: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class ProjectOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    branch_id: uuid.UUID
    business_line_id: uuid.UUID
    client_id: uuid.UUID | None
    title: str
    owner_id: uuid.UUID
    manager_id: uuid.UUID | None
    template_version_id: uuid.UUID | None
    stage_key: str
    status: str
    contract_value: decimal.Decimal
    collected_amount: decimal.Decimal
    opened_at: dt.datetime
    closed_at: dt.datetime | None
    stage_entered_at: dt.datetime | None
    next_due_at: dt.datetime | None
    escalation_level: int
    overdue: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int
    # Not sent to roles whose field mask hides it (backend.access.FIELD_MASK).
    description: str | msgspec.UnsetType = msgspec.UNSET


class MemberOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    project_id: uuid.UUID
    user_id: uuid.UUID
    kind: str
    created_at: dt.datetime | msgspec.UnsetType = msgspec.UNSET
    display_name: str | msgspec.UnsetType = msgspec.UNSET
    role: str | msgspec.UnsetType = msgspec.UNSET


class TeamCandidate(msgspec.Struct, kw_only=True):
    """A colleague of the branch who may join a project's team."""

    id: uuid.UUID
    display_name: str
    role: str
