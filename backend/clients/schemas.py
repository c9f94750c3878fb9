import datetime as dt
import decimal
import uuid
from typing import Annotated, Literal

import msgspec

from backend.schemas import NO_NUL, LongText, Money, Name, Phone, ShortText, Tags, Title, Version, Yuan

Intent = Literal["buy", "rent", "sell", "lease", "invest", "legal_service", "hire", "job_seek"]
Source = Literal["referral", "walk_in", "online", "phone", "event", "returning", "other"]
Area = Annotated[str, msgspec.Meta(max_length=100, pattern=NO_NUL)]  # the column's length


class ClientCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    phone: Phone = ""
    intent: Intent = "buy"
    budget_min: Yuan | None = None
    budget_max: Yuan | None = None
    area_preference: Area = ""
    source: Source = "other"
    tags: Tags = []
    private_notes: LongText = ""
    owner_id: uuid.UUID | None = None


class ClientUpdate(msgspec.Struct, forbid_unknown_fields=True):
    version: Version
    name: Name | msgspec.UnsetType = msgspec.UNSET
    phone: Phone | msgspec.UnsetType = msgspec.UNSET
    intent: Intent | msgspec.UnsetType = msgspec.UNSET
    budget_min: Yuan | msgspec.UnsetType | None = msgspec.UNSET
    budget_max: Yuan | msgspec.UnsetType | None = msgspec.UNSET
    area_preference: Area | msgspec.UnsetType = msgspec.UNSET
    source: Source | msgspec.UnsetType = msgspec.UNSET
    tags: Tags | msgspec.UnsetType = msgspec.UNSET
    private_notes: LongText | msgspec.UnsetType = msgspec.UNSET


class OpportunityCreate(msgspec.Struct, forbid_unknown_fields=True):
    client_id: uuid.UUID
    title: Title
    value: Money = decimal.Decimal(0)
    owner_id: uuid.UUID | None = None


class OpportunityUpdate(msgspec.Struct, forbid_unknown_fields=True):
    version: Version
    title: Title | msgspec.UnsetType = msgspec.UNSET
    value: Money | msgspec.UnsetType = msgspec.UNSET


class OpportunityMove(msgspec.Struct, forbid_unknown_fields=True):
    version: Version
    state: Literal["potential", "following", "won", "lost"]
    lost_reason: ShortText = ""


class ClientOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    branch_id: uuid.UUID
    owner_id: uuid.UUID
    name: str
    intent: str
    budget_min: int | None
    budget_max: int | None
    area_preference: str
    source: str
    tags: list[str]
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int
    # Not sent to roles whose field mask hides them (backend.access.FIELD_MASK).
    phone: str | msgspec.UnsetType = msgspec.UNSET
    private_notes: str | msgspec.UnsetType = msgspec.UNSET


class OpportunityOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    branch_id: uuid.UUID
    owner_id: uuid.UUID
    client_id: uuid.UUID
    title: str
    state: str
    value: decimal.Decimal
    lost_reason: str
    closed_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class Reopen(msgspec.Struct, forbid_unknown_fields=True):
    version: Version
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500, pattern=NO_NUL)]
