import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec

from backend.schemas import LongText, Timestamp, Version, check_time

Address = Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
Minutes = Annotated[int, msgspec.Meta(ge=5, le=24 * 60)]
Status = Literal["planned", "done", "cancelled", "no_show"]
Body = Annotated[str, msgspec.Meta(min_length=1, max_length=20_000)]


class VisitCreate(msgspec.Struct, forbid_unknown_fields=True):
    client_id: uuid.UUID
    address: Address
    scheduled_at: Timestamp
    project_id: uuid.UUID | None = None
    duration_minutes: Minutes = 60
    status: Status = "planned"
    summary: LongText = ""
    owner_id: uuid.UUID | None = None

    def __post_init__(self) -> None:
        check_time("scheduled_at", self.scheduled_at)


class VisitUpdate(msgspec.Struct, forbid_unknown_fields=True):
    version: Version
    address: Address | msgspec.UnsetType = msgspec.UNSET
    scheduled_at: Timestamp | msgspec.UnsetType = msgspec.UNSET
    project_id: uuid.UUID | msgspec.UnsetType | None = msgspec.UNSET
    duration_minutes: Minutes | msgspec.UnsetType = msgspec.UNSET
    status: Status | msgspec.UnsetType = msgspec.UNSET
    summary: LongText | msgspec.UnsetType = msgspec.UNSET

    def __post_init__(self) -> None:
        check_time("scheduled_at", self.scheduled_at)


class NoteCreate(msgspec.Struct, forbid_unknown_fields=True):
    body: Body
    client_id: uuid.UUID | None = None
    project_id: uuid.UUID | None = None
    visit_id: uuid.UUID | None = None
    id: uuid.UUID | None = None


class NoteUpdate(msgspec.Struct, forbid_unknown_fields=True):
    version: Version
    body: Body | msgspec.UnsetType = msgspec.UNSET


class VisitOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    branch_id: uuid.UUID
    owner_id: uuid.UUID
    client_id: uuid.UUID
    project_id: uuid.UUID | None
    address: str
    scheduled_at: dt.datetime
    duration_minutes: int
    status: str
    summary: str
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class NoteOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    branch_id: uuid.UUID
    author_id: uuid.UUID
    client_id: uuid.UUID | None
    project_id: uuid.UUID | None
    visit_id: uuid.UUID | None
    body: str
    written_at: dt.datetime | None = None
    clock_skewed: bool = False
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int
