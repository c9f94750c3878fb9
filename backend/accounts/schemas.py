import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec

from backend.schemas import Code, Name, Phone, Version
from backend.specs import Role

Username = Annotated[str, msgspec.Meta(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
Password = Annotated[str, msgspec.Meta(min_length=8, max_length=200)]
Email = Annotated[str, msgspec.Meta(max_length=255)]
TimeZone = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Language = Literal["", "zh", "en"]


class Login(msgspec.Struct, forbid_unknown_fields=True):
    username: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class UserUpdate(msgspec.Struct, forbid_unknown_fields=True):
    version: Version
    display_name: Name | msgspec.UnsetType = msgspec.UNSET
    password: Password | msgspec.UnsetType = msgspec.UNSET
    role: Role | msgspec.UnsetType = msgspec.UNSET
    branch_id: uuid.UUID | msgspec.UnsetType = msgspec.UNSET
    supervisor_id: uuid.UUID | msgspec.UnsetType | None = msgspec.UNSET
    email: Email | msgspec.UnsetType = msgspec.UNSET
    phone: Phone | msgspec.UnsetType = msgspec.UNSET
    language: Language | msgspec.UnsetType = msgspec.UNSET
    is_active: bool | msgspec.UnsetType = msgspec.UNSET


class RegionCreate(msgspec.Struct, forbid_unknown_fields=True):
    code: Code
    name: Name


class RegionUpdate(msgspec.Struct, forbid_unknown_fields=True):
    version: Version
    name: Name | msgspec.UnsetType = msgspec.UNSET


class BranchCreate(msgspec.Struct, forbid_unknown_fields=True):
    code: Code
    name: Name
    region_id: uuid.UUID
    timezone: TimeZone = "Asia/Shanghai"


class BranchUpdate(msgspec.Struct, forbid_unknown_fields=True):
    version: Version
    name: Name | msgspec.UnsetType = msgspec.UNSET
    region_id: uuid.UUID | msgspec.UnsetType = msgspec.UNSET
    timezone: TimeZone | msgspec.UnsetType = msgspec.UNSET


class TokenCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    expires_in_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] | None = None  # None: IPMS_API_TOKEN_DAYS


class DeviceTouch(msgspec.Struct, forbid_unknown_fields=True):
    label: Annotated[str, msgspec.Meta(max_length=100)] = ""


class UserOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    username: str
    display_name: str
    role: str
    branch_id: uuid.UUID
    supervisor_id: uuid.UUID | None
    email: str
    phone: str
    language: str
    is_active: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int
    must_change_password: bool = False  # holds a one-time password not yet replaced


class RegionOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    code: str
    name: str
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class BranchOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    region_id: uuid.UUID
    code: str
    name: str
    timezone: str
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class MeOut(msgspec.Struct, kw_only=True):
    """The signed-in user as the app needs it."""

    id: uuid.UUID
    username: str
    display_name: str
    role: str
    branch_id: uuid.UUID
    language: str
    must_change_password: bool = False  # signed in with a one-time password: POST /api/auth/password first


class SessionOut(msgspec.Struct, kw_only=True):
    """Who is signed in, and the token to send as X-CSRF-Token with every write."""

    user: MeOut
    csrf_token: str


class SignedOut(msgspec.Struct, kw_only=True):
    signed_out: bool


class ApiTokenOut(msgspec.Struct, kw_only=True):
    """An API token as listed: its first characters only, never the secret."""

    id: uuid.UUID
    name: str
    prefix: str
    created_at: dt.datetime
    expires_at: dt.datetime | None  # past it the token answers 401 (None only on rows that never got one)
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class ApiTokenCreated(msgspec.Struct, kw_only=True):
    """A new API token: `token` is the secret, shown this once."""

    id: uuid.UUID
    name: str
    prefix: str
    token: str
    created_at: dt.datetime
    expires_at: dt.datetime


class DeviceOut(msgspec.Struct, kw_only=True):
    """A browser install of the signed-in user (`user` is the user's id)."""

    id: uuid.UUID
    user: uuid.UUID
    label: str
    created_at: dt.datetime
    last_seen_at: dt.datetime
    version: int


class UserInvite(msgspec.Struct, forbid_unknown_fields=True):
    """A new user without a password: the server makes a one-time password, shown once."""

    username: Username
    display_name: Name
    role: Role
    branch_id: uuid.UUID
    supervisor_id: uuid.UUID | None = None
    email: Email = ""
    phone: Phone = ""
    language: Language = ""


class UserCreate(UserInvite, kw_only=True):
    """A new user with the password the admin chose (the API and `ipms create-user`)."""

    password: Password


class PasswordReset(msgspec.Struct, forbid_unknown_fields=True):
    version: Version


class PasswordChange(msgspec.Struct, forbid_unknown_fields=True):
    current_password: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    new_password: Password


class OneTimePassword(msgspec.Struct, kw_only=True):
    """A user and the one-time password they sign in with once (then must choose their own). Shown this once."""

    user: UserOut
    one_time_password: str


class PasswordChanged(msgspec.Struct, kw_only=True):
    changed: bool
