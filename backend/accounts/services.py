"""Passwords, sessions, API tokens, login rate limiting and user administration."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import ipaddress
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import msgspec

from backend import access, db, records
from backend.access import Actor
from backend.accounts import notices, passwords, rules, signin
from backend.accounts.org import BRANCHES, REGIONS
from backend.accounts.passwords import hash_password
from backend.accounts.schemas import (
    ApiTokenCreated,
    ApiTokenOut,
    BranchOut,
    DeviceOut,
    OneTimePassword,
    PasswordChanged,
    UserOut,
)
from backend.accounts.tables import ApiToken, Branch, Device, Session, User
from backend.audit.services import record_change, record_changes
from backend.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from backend.service import ListQuery, Page, Resource
from backend.settings import Settings
from notifications import notify

__all__ = ["REGIONS", "hash_password"]  # re-exported: the CLI, the demo seed and tests hash with it

SESSION_TOUCH_EVERY = dt.timedelta(minutes=5)
TOKEN_PREFIX = "ipms_"
SESSION_WITH_USER = (
    'SELECT s.id AS session_id, s.csrf_token, s.created_at, s.last_seen_at, u.id AS user_id, u.role, u.branch, '
    "u.username, u.display_name, u.language, u.is_active, u.must_change_password "
    'FROM sessions s JOIN users u ON u.id = s."user" '
    "WHERE s.token_hash = {}"
)

USER_SPEC = records.Spec(
    resource="user", table=User, search=("username", "display_name"),
    filters={"branch": uuid.UUID, "role": str, "is_active": bool},
    references={"branch": "branch", "supervisor": "user"}, owner_field=None,
)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def actor_from_row(row: dict[str, Any], session: dict[str, Any] | None = None) -> Actor:
    return Actor(
        id=row["id"], role=row["role"], branch_id=row["branch"], username=row["username"],
        display_name=row["display_name"], language=row.get("language") or "",
        must_change_password=bool(row.get("must_change_password")),
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
    device_token: str  # the `ipms_device` cookie's new value


async def sign_in(
    username: str, password: str, *, ip: str, user_agent: str, settings: Settings, at: dt.datetime | None = None,
    replaces: str | None = None, device: str | None = None,
) -> SignIn:
    """Verify the password and open a new session (always a new id: no fixation). `replaces` is the session
    cookie the browser sent, if any: that session ends, so a planted or stale cookie never outlives a sign-in.
    `device` is the browser's `ipms_device` cookie: naming this user, it skips the per-username delay
    (backend.accounts.signin). The attempt is counted before the password is checked, which runs off the loop."""
    username = username.strip().lower()
    user = await User.select().where(User.username == username).first()
    trusted = user is not None and signin.device_user(device, settings, at) == user["id"]
    attempt_id = await signin.reserve_attempt(ip, username, settings, trusted_device=trusted, at=at)
    stored = user["password_hash"] if user else None
    try:
        ok = await passwords.verify_in_pool(stored, password) and bool(user and user["is_active"])
        new_hash = await passwords.hash_in_pool(password) if ok and stored and passwords.needs_rehash(stored) else None
    except BaseException:
        await asyncio.shield(signin.settle_attempt(attempt_id, False))  # a dropped request still counts
        raise
    if not ok or user is None:
        await signin.settle_attempt(attempt_id, False)
        signin.announce_settled()
        raise Unauthorized("Wrong username or password", field="password")
    at = at or records.now()
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    session = Session(token_hash=sha256(token), user=user["id"], csrf_token=csrf, created_at=at, last_seen_at=at,
                      ip=ip[:64], user_agent=user_agent[:255])
    async with db.write_transaction():
        await signin.settle_attempt(attempt_id, True)
        if replaces:
            await Session.delete().where(Session.token_hash == sha256(replaces))
        await Session.insert(session)
        if new_hash is not None:  # made with older parameters; only if nobody changed the password meanwhile
            await User.update({User.password_hash: new_hash}).where(
                (User.id == user["id"]) & (User.password_hash == stored))
        await record_change(actor_id=user["id"], action="sign_in", table="sessions", row_id=session.id,
                            branch_id=user["branch"], owner_id=user["id"])
    signin.announce_settled()
    return SignIn(actor=actor_from_row(user, {"id": session.id, "csrf_token": csrf}), token=token, csrf_token=csrf,
                  device_token=signin.device_token(user["id"], settings, at))


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
            "display_name": row["display_name"], "language": row["language"], "is_active": row["is_active"],
            "must_change_password": row["must_change_password"]}
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


TOKEN_DAYS_MAX = 3650


async def create_api_token(actor: Actor, name: str, days: int, at: dt.datetime | None = None) -> ApiTokenCreated:
    """Returns the token once; only its SHA-256 is stored. It works for `days` days (the endpoint's default is the
    IPMS_API_TOKEN_DAYS setting). The change log gets its name and expiry, never the secret or its prefix."""
    if not 1 <= days <= TOKEN_DAYS_MAX:
        raise Invalid(f"A token lasts from 1 to {TOKEN_DAYS_MAX} days", field="expires_in_days")
    at = at or records.now()
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=actor.id, name=name.strip()[:100] or "token", prefix=secret[:12], token_hash=sha256(secret),
                     created_at=at, expires_at=at + dt.timedelta(days=days))
    async with db.write_transaction():
        await ApiToken.insert(token)
        await record_change(actor_id=actor.id, action="create", table="api_tokens", row_id=token.id,
                            after={"name": token.name, "expires_at": token.expires_at}, branch_id=actor.branch_id,
                            owner_id=actor.id)
    return ApiTokenCreated(id=token.id, name=token.name, prefix=token.prefix, token=secret,
                           created_at=token.created_at, expires_at=token.expires_at)


async def list_api_tokens(actor: Actor) -> list[ApiTokenOut]:
    """The caller's tokens with their expiry (the prefix, shown only here, tells them apart)."""
    rows = await access.scope(ApiToken.select(
        ApiToken.id, ApiToken.name, ApiToken.prefix, ApiToken.created_at, ApiToken.expires_at, ApiToken.last_used_at,
        ApiToken.revoked_at,
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


async def _revoke_user_tokens(actor: Actor, user: dict[str, Any], reason: str, at: dt.datetime) -> None:
    """Inside the caller's transaction: every live token of `user` stops working (one change-log row each)."""
    revoked = await ApiToken.update({ApiToken.revoked_at: at}).where(
        (ApiToken.user == user["id"]) & ApiToken.revoked_at.is_null()
    ).returning(ApiToken.id)
    await record_changes([{"actor_id": actor.id, "action": "revoke", "table": "api_tokens", "row_id": row["id"],
                           "after": {"revoked_at": at, "reason": reason}, "branch_id": user["branch"],
                           "owner_id": user["id"]} for row in revoked])


async def actor_for_api_token(secret: str, at: dt.datetime | None = None) -> Actor | None:
    """The token's user, or None when the token is unknown, revoked, expired or its user disabled."""
    at = at or records.now()
    token = await ApiToken.select().where(
        (ApiToken.token_hash == sha256(secret)) & ApiToken.revoked_at.is_null() & (ApiToken.expires_at > at)
    ).first()
    if token is None:
        return None
    user = await User.select().where((User.id == token["user"]) & (User.is_active == True)).first()  # noqa: E712
    if user is None:
        return None
    if token["last_used_at"] is None or at - token["last_used_at"] > SESSION_TOUCH_EVERY:
        await ApiToken.update({ApiToken.last_used_at: at}).where(ApiToken.id == token["id"])
    return actor_from_row(user)


async def _announce_privileged_grant(actor: Actor | None, user: dict[str, Any], previous_role: str | None,
                                     at: dt.datetime) -> None:
    """Inside the caller's transaction: every other active executive gets an inbox item, and the grant its own
    change-log row naming who was told."""
    if user["role"] not in notices.PRIVILEGED_ROLES or user["role"] == previous_role:
        return
    executives = await User.select(User.id, User.language).where(
        (User.role == "executive") & (User.is_active == True) & (User.id != user["id"])  # noqa: E712
    ).order_by(User.id)
    branch = await Branch.select(Branch.name).where(Branch.id == user["branch"]).first()
    by = (actor.display_name or actor.username) if actor is not None else None
    await notify([notices.role_granted(
        recipient=row["id"], language=row["language"], user_id=user["id"],
        user=f"{user['display_name']} ({user['username']})", branch=branch["name"] if branch else "",
        role=user["role"], previous_role=previous_role, actor=by) for row in executives], at=at)
    await record_change(actor_id=actor.id if actor else None, action="grant_role", table="users", row_id=user["id"],
                        before={"role": previous_role}, after={"role": user["role"],
                                                               "notified": [row["id"] for row in executives]},
                        branch_id=user["branch"], owner_id=user["id"])


async def create_user(actor: Actor | None, values: dict[str, Any]) -> dict[str, Any]:
    """Admins create users; `actor=None` is the CLI. Password is hashed here and never returned. Creating an
    executive, branch manager or admin is announced to the executives in the same transaction."""
    if actor is not None and not access.can(actor, "create", "user"):
        raise Forbidden("Only administrators create users")
    values = dict(values)
    password = values.pop("password")
    if len(password) < 8:
        raise Invalid("The password must have at least 8 characters", field="password")
    values["username"] = values["username"].strip().lower()
    if await User.exists().where(User.username == values["username"]):
        raise Invalid(f"The username {values['username']!r} is taken", field="username")
    values["password_hash"] = await passwords.hash_in_pool(password)
    await rules.check_supervisor(None, values.get("supervisor_id"))
    system = actor or SYSTEM
    values = records.from_api(USER_SPEC, values)
    async with db.write_transaction():
        if actor is not None:
            await records.check_references(actor, USER_SPEC, values)
        elif not await Branch.exists().where(Branch.id == values["branch"]):
            raise NotFound("No such branch", field="branch_id")
        after = await records.insert_audited(system, USER_SPEC, values) if actor else await _insert_user(values)
        await _announce_privileged_grant(actor, after, None, records.now())
    return records.to_api(USER_SPEC, system, after)


async def _insert_user(values: dict[str, Any]) -> dict[str, Any]:
    user = User(**values)
    await User.insert(user)
    row = await User.select().where(User.id == user.id).first()
    assert row is not None
    await record_change(actor_id=None, action="create", table="users", row_id=user.id, after=row,
                        branch_id=row["branch"], owner_id=row["id"])
    return row


async def update_user(actor: Actor, user_id: uuid.UUID, version: int, changes: dict[str, Any]) -> dict[str, Any]:
    """Admin edit. A password reset, deactivation or role change revokes the user's API tokens; a reset or
    deactivation also ends all their sessions at once, and deactivation their push subscriptions; granting a
    privileged role is announced. Refused, naming the field: a supervisor loop, the last active administrator
    deactivated or demoted, and deactivating someone who still owns open work (`backend.handover.deactivation`
    hands it over in the same step)."""
    changes = dict(changes)
    if "password" in changes:
        password = changes.pop("password")
        if len(password) < 8:
            raise Invalid("The password must have at least 8 characters", field="password")
        changes["password_hash"] = await passwords.hash_in_pool(password)
    changes = records.from_api(USER_SPEC, changes)
    at = records.now()
    async with db.write_transaction():
        await access.authorize(actor, "update", "user", user_id)
        await records.check_references(actor, USER_SPEC, changes)
        before = await User.select(User.role, User.is_active, User.branch).where(User.id == user_id).first()
        assert before is not None  # authorized above: the user exists
        if "supervisor" in changes:
            await rules.check_supervisor(user_id, changes["supervisor"])
        await rules.check_not_last_admin(user_id, before, changes)
        if before["is_active"] and changes.get("is_active") is False:
            await rules.check_no_open_work(user_id, before["branch"])
        after = await records.apply_update(actor, USER_SPEC, user_id, version, changes)
        reasons = [reason for reason, applies in (
            ("password_reset", "password_hash" in changes),
            ("deactivated", before["is_active"] and not after["is_active"]),
            ("role_change", after["role"] != before["role"]),
        ) if applies]
        if reasons:
            await _revoke_user_tokens(actor, after, ",".join(reasons), at)
        if not after["is_active"] or "password_hash" in changes:
            await Session.delete().where(Session.user == user_id)
        if before["is_active"] and not after["is_active"]:
            from backend.push.services import forget_user_subscriptions  # push.services imports accounts.tables

            await forget_user_subscriptions(actor, user_id)
        await _announce_privileged_grant(actor, after, before["role"], at)
    return records.to_api(USER_SPEC, actor, after)


async def touch_device(actor: Actor, device_id: uuid.UUID, label: str) -> DeviceOut:
    """Register or refresh this browser install for the signed-in user. An id held by anyone else answers the
    same 409 whoever holds it (the app then makes a new one), so the answer tells nothing about the holder."""
    taken = Conflict("This device id is taken; the app makes a new one", field="id")
    async with db.write_transaction():
        row = await Device.select().where(Device.id == device_id).first()
        if row and not await access.scope(Device.exists().where(Device.id == device_id), actor, "device"):
            raise taken
        if row is None:
            try:
                await Device.insert(Device(id=device_id, user=actor.id, label=label[:100]))
            except records.INTEGRITY_ERRORS:
                raise taken from None
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


# ---- one-time passwords: an admin creates a user or resets a password, the server makes a password shown once,
# and the user must choose their own at the next sign-in (`User.must_change_password`, read into `Actor`).

ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud or copied from a phone screen


def one_time_password() -> str:
    """Three groups of four (≈ 59 bits), e.g. "k7mq-2xpf-9rtw"."""
    return "-".join("".join(secrets.choice(ALPHABET) for _ in range(4)) for _ in range(3))


async def create_user_with_one_time_password(actor: Actor, values: dict[str, Any]) -> OneTimePassword:
    password = one_time_password()
    row = await create_user(actor, {**values, "password": password, "must_change_password": True})
    return OneTimePassword(user=msgspec.convert(row, UserOut, strict=False), one_time_password=password)


async def reset_password(actor: Actor, user_id: uuid.UUID, version: int) -> OneTimePassword:
    """A new one-time password; the user's sessions and API tokens end (`update_user`'s rules)."""
    password = one_time_password()
    row = await update_user(actor, user_id, version, {"password": password, "must_change_password": True})
    return OneTimePassword(user=msgspec.convert(row, UserOut, strict=False), one_time_password=password)


async def change_own_password(actor: Actor, current: str, new: str) -> PasswordChanged:
    """The signed-in user replaces their password (a one-time one, or their own). This session stays; every
    other session of theirs ends."""
    if len(new) < 8:
        raise Invalid("The password must have at least 8 characters", field="new_password")
    if new == current:
        raise Invalid("Choose a password other than the current one", field="new_password")
    row = await User.select(User.password_hash, User.branch).where(User.id == actor.id).first()
    if row is None:
        raise NotFound("No such user")
    if not await passwords.verify_in_pool(row["password_hash"], current):
        raise Invalid("The current password is wrong", field="current_password")
    new_hash = await passwords.hash_in_pool(new)
    async with db.write_transaction():
        await User.update({User.password_hash: new_hash, User.must_change_password: False,
                           User.updated_at: records.now()}).where(User.id == actor.id)
        others = Session.delete().where(Session.user == actor.id)
        if actor.session_id is not None:
            others = others.where(Session.id != actor.session_id)
        await others
        await record_change(actor_id=actor.id, action="change_password", table=USER_SPEC.table._meta.tablename,
                            row_id=actor.id, after={"must_change_password": False}, branch_id=row["branch"],
                            owner_id=actor.id)
    return PasswordChanged(changed=True)


# ---- the first-run guide: remembered per user (not per device), so it shows once on whichever phone comes first

GUIDE_CLOSED = "closed"
GUIDE_STEPS_MAX = 10


async def guide_state(actor: Actor) -> str:
    """"" (never started), a step number to resume at, or "closed" (finished or dismissed)."""
    row = await User.select(User.guide).where(User.id == actor.id).first()
    return str(row["guide"]) if row else GUIDE_CLOSED


async def set_guide_state(actor: Actor, state: str) -> None:
    """Move to a step, close the guide, or ("" from Settings) start it again. Every user may; only their own."""
    if state not in ("", GUIDE_CLOSED) and not (state.isdigit() and int(state) < GUIDE_STEPS_MAX):
        raise Invalid("The guide's state is a step number, empty or closed", field="guide")
    async with db.write_transaction():
        before = await User.select(User.guide).where(User.id == actor.id).first()
        if before is None:
            raise NotFound("No such user")
        if before["guide"] == state:
            return
        await User.update({User.guide: state}).where(User.id == actor.id)
        await record_change(actor_id=actor.id, action="guide", table="users", row_id=actor.id,
                            before={"guide": before["guide"]}, after={"guide": state}, branch_id=actor.branch_id,
                            owner_id=actor.id)
