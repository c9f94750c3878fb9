"""The reply of `GET /api/handover` (keys as the service returns them)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

import msgspec

from backend.schemas import Version


class Assignee(msgspec.Struct):
    id: uuid.UUID
    display_name: str
    role: str
    branch_id: uuid.UUID


class LeftItem(msgspec.Struct):
    """One open record of someone who left; `assignable`: the users it may be given to."""

    resource: Literal["client", "opportunity", "project", "visit", "milestone"]
    id: uuid.UUID
    version: int
    branch_id: uuid.UUID
    owner_id: uuid.UUID
    title: str
    assignable: list[Assignee]
    title_zh: str | None = None
    title_en: str | None = None
    project_id: uuid.UUID | None = None
    project_title: str | None = None
    owner_rule: str | None = None
    due_at: dt.datetime | None = None
    scheduled_at: dt.datetime | None = None


class LeftWork(msgspec.Struct):
    client: list[LeftItem]
    opportunity: list[LeftItem]
    project: list[LeftItem]
    visit: list[LeftItem]
    milestone: list[LeftItem]


class LeftPerson(msgspec.Struct):
    user_id: uuid.UUID
    display_name: str
    role: str
    reason: Literal["moved", "disabled"]
    branch_id: uuid.UUID
    branch_name: str
    is_active: bool
    count: int
    work: LeftWork


class LeftWorkOut(msgspec.Struct):
    people: list[LeftPerson]
    total: int


class OpenWorkCounts(msgspec.Struct, omit_defaults=True):
    client: int = 0
    opportunity: int = 0
    project: int = 0
    visit: int = 0
    milestone: int = 0


class Candidates(msgspec.Struct, omit_defaults=True):
    client: list[Assignee] = msgspec.field(default_factory=list)
    opportunity: list[Assignee] = msgspec.field(default_factory=list)
    project: list[Assignee] = msgspec.field(default_factory=list)
    visit: list[Assignee] = msgspec.field(default_factory=list)
    milestone: list[Assignee] = msgspec.field(default_factory=list)


class DepartureOut(msgspec.Struct):
    """What deactivating a user leaves behind: counts per kind, and who may take all of each kind."""

    user_id: uuid.UUID
    counts: OpenWorkCounts
    candidates: Candidates


class ReassignTo(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    client: uuid.UUID | None = None
    opportunity: uuid.UUID | None = None
    project: uuid.UUID | None = None
    visit: uuid.UUID | None = None
    milestone: uuid.UUID | None = None


class Deactivation(msgspec.Struct, forbid_unknown_fields=True):
    version: Version
    reassign_to: ReassignTo = msgspec.field(default_factory=ReassignTo)
