"""Passwords, sessions, API tokens, login rate limiting and user administration."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import ipaddress
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import msgspec
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from backend import access, db, records
from backend.access import Actor
from backend.accounts.org import BRANCHES
from backend.accounts.schemas import ApiTokenCreated, ApiTokenOut, BranchOut, DeviceOut, UserOut
from backend.accounts.tables import ApiToken, Branch, Device, LoginAttempt, Session, User
from backend.audit.services import record_change
from backend.errors import Forbidden, Invalid, NotFound, TooMany, Unauthorized
from backend.service import ListQuery, Page, Resource
from backend.settings import Settings

HASHER = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the username is unknown, so both paths cost the same (made on first use)."""
    return HASHER.hash("not-a-real-password")

SESSION_TOUCH_EVERY = dt.timedelta(minutes=5)
TOKEN_PREFIX = "ipms_"
SESSION_WITH_USER = (
    'SELECT s.id AS session_id, s.csrf_token, s.created_at, s.last_seen_at, u.id AS user_id, u.role, u.branch, '
    'u.username, u.display_name, u.language, u.is_active FROM sessions s JOIN users u ON u.id = s."user" '
    "WHERE s.token_hash = {}"
)

USER_SPEC = records.Spec(
    resource="user", table=User, search=("username", "display_name"),
    filters={"branch": uuid.UUID, "role": str, "is_active": bool},
    references={"branch": "branch", "supervisor": "user"}, owner_field=None,
)


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def actor_from_row(row: dict[str, Any], session: dict[str, Any] | None = None) -> Actor:
    return Actor(
        id=row["id"], role=row["role"], branch_id=row["branch"], username=row["username"],
        display_name=row["display_name"], language=row.get("language") or "",
        session_id=session["id"] if session else None, csrf_token=session["csrf_token"] if session else "",
    )


def client_ip(peer: str | None, forwarded_for: str | None, settings: Settings) -> str:
    """The client's address: the socket peer, unless that peer is a trusted proxy (then the nearest
    untrusted address in X-Forwarded-For). A client-sent header is never believed on its own."""
    address = peer or "unknown"

    def trusted(value: str) -> bool:
        try:
            ip = ipaddress.ip_address(value)
        except ValueError:
            return False
        return any(ip in net for net in settings.trusted_proxies)

    if forwarded_for and trusted(address):
        for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
            address = hop
            if not trusted(hop):
                break
    return address


@dataclass(frozen=True)
class SignIn:
    actor: Actor
    token: str
    csrf_token: str


async def _check_rate_limit(ip: str, username: str, settings: Settings, at: dt.datetime) -> None:
    since = at - dt.timedelta(minutes=settings.login_window_minutes)
    failures = LoginAttempt.count().where((LoginAttempt.at > since) & (LoginAttempt.succeeded == False))  # noqa: E712
    by_ip = await failures.where(LoginAttempt.ip == ip)
    by_user = await LoginAttempt.count().where(
        (LoginAttempt.at > since) & (LoginAttempt.succeeded == False) & (LoginAttempt.username == username)  # noqa: E712
    )
    if by_ip >= settings.login_max_attempts or by_user >= settings.login_max_attempts:
        raise TooMany(f"Too many failed sign-ins; try again in {settings.login_window_minutes} minutes")


async def sign_in(
    username: str, password: str, *, ip: str, user_agent: str, settings: Settings, at: dt.datetime | None = None,
    replaces: str | None = None,
) -> SignIn:
    """Verify the password and open a new session (always a new id: no fixation). `replaces` is the session
    cookie the browser sent, if any: that session ends, so a planted or stale cookie never outlives a sign-in."""
    at = at or records.now()
    username = username.strip().lower()
    await _check_rate_limit(ip, username, settings, at)
    user = await User.select().where(User.username == username).first()
    try:
        HASHER.verify(user["password_hash"] if user else _dummy_hash(), password)
        ok = bool(user and user["is_active"])
    except (VerificationError, InvalidHashError):
        ok = False
    async with db.write_transaction():
        await LoginAttempt.insert(LoginAttempt(ip=ip, username=username, succeeded=ok, at=at))
        if not ok or user is None:
            raise_later = Unauthorized("Wrong username or password", field="password")
        else:
            raise_later = None
            token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            session = Session(
                token_hash=sha256(token), user=user["id"], csrf_token=csrf, created_at=at, last_seen_at=at,
                ip=ip[:64], user_agent=user_agent[:255],
            )
            if replaces:
                await Session.delete().where(Session.token_hash == sha256(replaces))
            await Session.insert(session)
            await record_change(actor_id=user["id"], action="sign_in", table="sessions", row_id=session.id,
                                branch_id=user["branch"], owner_id=user["id"])
    if raise_later:
        raise raise_later
    if HASHER.check_needs_rehash(user["password_hash"]):
        await User.update({User.password_hash: hash_password(password)}).where(User.id == user["id"])
    return SignIn(actor=actor_from_row(user, {"id": session.id, "csrf_token": csrf}), token=token, csrf_token=csrf)


async def actor_for_session(token: str | None, settings: Settings, at: dt.datetime | None = None) -> Actor | None:
    """The signed-in user for a session cookie, or None when it is unknown, expired or the user disabled."""
    if not token:
        return None
    at = at or records.now()
    # One round trip on every request: the session and its user together.
    rows = await Session.raw(SESSION_WITH_USER, sha256(token))
    if not rows:
        return None
    row = rows[0]
    session = {"id": row["session_id"], "csrf_token": row["csrf_token"]}
    user = {"id": row["user_id"], "role": row["role"], "branch": row["branch"], "username": row["username"],
            "display_name": row["display_name"], "language": row["language"], "is_active": row["is_active"]}
    idle = at - row["last_seen_at"] > dt.timedelta(hours=settings.session_idle_hours)
    old = at - row["created_at"] > dt.timedelta(days=settings.session_absolute_days)
    if not user["is_active"] or idle or old:
        await Session.delete().where(Session.id == session["id"])
        return None
    if at - row["last_seen_at"] > SESSION_TOUCH_EVERY:
        await Session.update({Session.last_seen_at: at}).where(Session.id == session["id"])
    return actor_from_row(user, session)


async def sign_out(actor: Actor, device_id: uuid.UUID | None = None) -> None:
    """End the session; `device_id` (this browser's device record) also drops its push subscription."""
    async with db.write_transaction():
        await Session.delete().where(Session.id == actor.session_id)
        await record_change(actor_id=actor.id, action="sign_out", table="sessions", row_id=actor.session_id,
                            branch_id=actor.branch_id, owner_id=actor.id)
        if device_id is not None:
            from backend.push.services import forget_device_on_sign_out

            await forget_device_on_sign_out(actor, device_id)


async def create_api_token(actor: Actor, name: str) -> ApiTokenCreated:
    """Returns the token once; only its SHA-256 is stored."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=actor.id, name=name.strip()[:100] or "token", prefix=secret[:12], token_hash=sha256(secret))
    async with db.write_transaction():
        await ApiToken.insert(token)
        await record_change(actor_id=actor.id, action="create", table="api_tokens", row_id=token.id,
                            after={"name": token.name, "prefix": token.prefix}, branch_id=actor.branch_id,
                            owner_id=actor.id)
    return ApiTokenCreated(id=token.id, name=token.name, prefix=token.prefix, token=secret)


async def list_api_tokens(actor: Actor) -> list[ApiTokenOut]:
    rows = await access.scope(ApiToken.select(
        ApiToken.id, ApiToken.name, ApiToken.prefix, ApiToken.created_at, ApiToken.last_used_at, ApiToken.revoked_at
    ), actor, "api_token").order_by(ApiToken.created_at)
    return [ApiTokenOut(**row) for row in rows]


async def revoke_api_token(actor: Actor, token_id: uuid.UUID) -> None:
    async with db.write_transaction():
        found = await access.scope(ApiToken.update({ApiToken.revoked_at: records.now()}).where(
            (ApiToken.id == token_id) & ApiToken.revoked_at.is_null()
        ), actor, "api_token", "write").returning(ApiToken.id)
        if not found:
            raise NotFound(f"No active API token with id {token_id}")
        await record_change(actor_id=actor.id, action="revoke", table="api_tokens", row_id=token_id,
                            branch_id=actor.branch_id, owner_id=actor.id)


async def actor_for_api_token(secret: str) -> Actor | None:
    token = await ApiToken.select().where(
        (ApiToken.token_hash == sha256(secret)) & ApiToken.revoked_at.is_null()
    ).first()
    if token is None:
        return None
    user = await User.select().where((User.id == token["user"]) & (User.is_active == True)).first()  # noqa: E712
    if user is None:
        return None
    at = records.now()
    if token["last_used_at"] is None or at - token["last_used_at"] > SESSION_TOUCH_EVERY:
        await ApiToken.update({ApiToken.last_used_at: at}).where(ApiToken.id == token["id"])
    return actor_from_row(user)


async def create_user(actor: Actor | None, values: dict[str, Any]) -> dict[str, Any]:
    """Admins create users; `actor=None` is the CLI. Password is hashed here and never returned."""
    if actor is not None and not access.can(actor, "create", "user"):
        raise Forbidden("Only administrators create users")
    values = dict(values)
    password = values.pop("password")
    if len(password) < 8:
        raise Invalid("The password must have at least 8 characters", field="password")
    values["username"] = values["username"].strip().lower()
    values["password_hash"] = hash_password(password)
    if await User.exists().where(User.username == values["username"]):
        raise Invalid(f"The username {values['username']!r} is taken", field="username")
    system = actor or SYSTEM
    values = records.from_api(USER_SPEC, values)
    async with db.write_transaction():
        if actor is not None:
            await records.check_references(actor, USER_SPEC, values)
        elif not await Branch.exists().where(Branch.id == values["branch"]):
            raise NotFound("No such branch", field="branch_id")
        after = await records.insert_audited(system, USER_SPEC, values) if actor else await _insert_user(values)
    return records.to_api(USER_SPEC, system, after)


async def _insert_user(values: dict[str, Any]) -> dict[str, Any]:
    user = User(**values)
    await User.insert(user)
    row = await User.select().where(User.id == user.id).first()
    await record_change(actor_id=None, action="create", table="users", row_id=user.id, after=row,
                        branch_id=row["branch"], owner_id=row["id"])
    return row


async def update_user(actor: Actor, user_id: uuid.UUID, version: int, changes: dict[str, Any]) -> dict[str, Any]:
    """Admin edit; disabling a user (or changing their password) ends all their sessions at once."""
    changes = dict(changes)
    if "password" in changes:
        password = changes.pop("password")
        if len(password) < 8:
            raise Invalid("The password must have at least 8 characters", field="password")
        changes["password_hash"] = hash_password(password)
    changes = records.from_api(USER_SPEC, changes)
    async with db.write_transaction():
        await access.authorize(actor, "update", "user", user_id)
        await records.check_references(actor, USER_SPEC, changes)
        after = await records.apply_update(actor, USER_SPEC, user_id, version, changes)
        if not after["is_active"] or "password_hash" in changes:
            await Session.delete().where(Session.user == user_id)
    return records.to_api(USER_SPEC, actor, after)


async def touch_device(actor: Actor, device_id: uuid.UUID, label: str) -> DeviceOut:
    """Register or refresh this browser install for the signed-in user."""
    async with db.write_transaction():
        row = await Device.select().where(Device.id == device_id).first()
        if row and not await access.scope(Device.exists().where(Device.id == device_id), actor, "device"):
            raise Invalid("This device id belongs to another user; the app makes a new one", field="device_id")
        if row is None:
            await Device.insert(Device(id=device_id, user=actor.id, label=label[:100]))
            await record_change(actor_id=actor.id, action="create", table="devices", row_id=device_id,
                                after={"label": label[:100]}, branch_id=actor.branch_id, owner_id=actor.id)
        else:
            await Device.update({Device.last_seen_at: records.now(), Device.label: label[:100] or row["label"]}).where(
                Device.id == device_id
            )
    device = await Device.select().where(Device.id == device_id).first()
    assert device is not None
    return DeviceOut(**device)


SYSTEM = Actor(id=uuid.UUID(int=0), role="admin", branch_id=uuid.UUID(int=0), username="system")


LANGUAGES = ("", "zh", "en")


async def set_own_language(actor: Actor, language: str) -> None:
    """Every user chooses their own interface language ("" follows the browser); no admin right needed."""
    if language not in LANGUAGES:
        raise Invalid("The language must be zh, en or empty (follow the browser)", field="language")
    async with db.write_transaction():
        before = await User.select(User.language).where(User.id == actor.id).first()
        if before is None:
            raise NotFound("No such user")
        await User.update({User.language: language, User.updated_at: records.now()}).where(User.id == actor.id)
        await record_change(actor_id=actor.id, action="set_language", table="users", row_id=actor.id,
                            before={"language": before["language"]}, after={"language": language},
                            branch_id=actor.branch_id, owner_id=actor.id)


class UserResource(Resource[UserOut]):
    """Users: the password is hashed and sign-ins ended by `create_user`/`update_user` above."""

    async def create(self, actor: Actor, values: dict[str, Any]) -> UserOut:
        return msgspec.convert(await create_user(actor, values), UserOut, strict=False)

    async def update(self, actor: Actor, record_id: uuid.UUID, version: int, changes: dict[str, Any]) -> UserOut:
        return msgspec.convert(await update_user(actor, record_id, version, changes), UserOut, strict=False)


USERS = UserResource(USER_SPEC, UserOut)


async def list_users(actor: Actor, query: ListQuery | None = None) -> Page[UserOut]:
    return await USERS.list(actor, query)


async def get_branch(actor: Actor, branch_id: uuid.UUID) -> BranchOut:
    return await BRANCHES.get(actor, branch_id)
