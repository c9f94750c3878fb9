"""Organisation (regions → branches → users), sign-in sessions, API tokens and devices."""

from piccolo.columns import (
    UUID,
    Boolean,
    ForeignKey,
    Integer,
    OnDelete,
    Serial,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class Region(Table, tablename="regions"):
    id = UUID(primary_key=True)
    code = Varchar(length=32, unique=True)
    name = Varchar(length=100)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    version = Integer(default=1)


class Branch(Table, tablename="branches"):
    id = UUID(primary_key=True)
    region = ForeignKey(Region, on_delete=OnDelete.restrict, null=False)
    code = Varchar(length=32, unique=True)
    name = Varchar(length=100)
    timezone = Varchar(length=64, default="Asia/Shanghai")
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    version = Integer(default=1)


class User(Table, tablename="users"):
    id = UUID(primary_key=True)
    username = Varchar(length=64, unique=True)
    display_name = Varchar(length=100)
    password_hash = Varchar(length=255, secret=True)
    role = Varchar(length=32, index=True)
    branch = ForeignKey(Branch, on_delete=OnDelete.restrict, null=False)
    supervisor: ForeignKey["User"] = ForeignKey("self", on_delete=OnDelete.restrict, null=True)
    email = Varchar(length=255, default="")
    phone = Varchar(length=32, default="")
    language = Varchar(length=8, default="")
    is_active = Boolean(default=True)
    must_change_password = Boolean(default=False)  # set by a one-time password; cleared by the user's own change
    guide = Varchar(length=16, default="")  # first-run guide: "" not started, "2" resume at step 2, "closed"
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    version = Integer(default=1)


class Session(Table, tablename="sessions"):
    """Server-side session; the cookie holds a random token whose SHA-256 is `token_hash`."""

    id = UUID(primary_key=True)
    token_hash = Varchar(length=64, unique=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade, null=False)
    csrf_token = Varchar(length=64, secret=True)
    created_at = Timestamptz(default=TimestamptzNow())
    last_seen_at = Timestamptz(default=TimestamptzNow())
    ip = Varchar(length=64, default="")
    user_agent = Varchar(length=255, default="")


class ApiToken(Table, tablename="api_tokens"):
    id = UUID(primary_key=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade, null=False)
    name = Varchar(length=100)
    prefix = Varchar(length=16)
    token_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz(default=TimestamptzNow())
    last_used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
    expires_at = Timestamptz(null=True, default=None)  # always set on new tokens; NULL (never made so) is expired


class LoginAttempt(Table, tablename="login_attempts"):
    """One sign-in attempt, recorded before the password is checked (`pending`) so concurrent attempts count."""

    id = Serial(primary_key=True)
    ip = Varchar(length=64, index=True)
    username = Varchar(length=64, index=True)
    succeeded = Boolean(default=False)
    at = Timestamptz(default=TimestamptzNow(), index=True)
    pending = Boolean(default=False)


class Device(Table, tablename="devices"):
    """One browser install; the UUID is made on the device. Sync cursors and push subscriptions hang off it."""

    id = UUID(primary_key=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade, null=False)
    label = Varchar(length=100, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    last_seen_at = Timestamptz(default=TimestamptzNow())
    version = Integer(default=1)
