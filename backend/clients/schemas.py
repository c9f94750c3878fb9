import decimal
import uuid
from typing import Literal

import msgspec

from backend.schemas import LongText, Money, Name, Phone, ShortText, Tag, Title, Version, Yuan

Intent = Literal["buy", "rent", "sell", "lease", "invest", "legal_service", "hire", "job_seek"]
Source = Literal["referral", "walk_in", "online", "phone", "event", "returning", "other"]
Tags = list[Tag]


class ClientCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    phone: Phone = ""
    intent: Intent = "buy"
    budget_min: Yuan | None = None
    budget_max: Yuan | None = None
    area_preference: ShortText = ""
    source: Source = "other"
    tags: Tags = []
    private_notes: LongText = ""
    owner_id: uuid.UUID | None = None


class ClientUpdate(msgspec.Struct, forbid_unknown_fields=True):
    version: Version
    name: Name | msgspec.UnsetType = msgspec.UNSET
    phone: Phone | msgspec.UnsetType = msgspec.UNSET
    intent: Intent | msgspec.UnsetType = msgspec.UNSET
    budget_min: Yuan | None | msgspec.UnsetType = msgspec.UNSET
    budget_max: Yuan | None | msgspec.UnsetType = msgspec.UNSET
    area_preference: ShortText | msgspec.UnsetType = msgspec.UNSET
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
