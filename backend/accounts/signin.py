"""Sign-in throttling, counted in the database so every worker shares it, and the device cookie.

An attempt is recorded (as `pending`) before its password is checked, in the same write transaction that counts
the earlier ones, so concurrent attempts cannot all pass the limit: SQLite serialises write transactions
(BEGIN IMMEDIATE), PostgreSQL serialises them per client address and per username with transaction-level advisory
locks. Two rules apply:

- **Per client address:** `login_max_attempts` failures in `login_window_minutes`, then 429 until the oldest
  leaves the window.
- **Per username:** the first `login_max_attempts` failures of a day are free; after them each attempt must wait
  2, 4, 8 … seconds (at most the window) after the previous one. That slows a guesser spread over many addresses
  to a few attempts an hour without ever locking the owner out, and a browser holding a signed `ipms_device`
  cookie for that user (set at each successful sign-in) skips the wait altogether.

While attempts of the same address or username are still being checked and would fill the free allowance, a new
one waits for them to finish (a correct password from a busy office is delayed, never refused). A pending attempt
that never finished (its worker died) counts as a failure after a minute.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import functools
import hashlib
import hmac
import math
import os
import secrets
import tempfile
import time
import uuid
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend import db, records
from backend.accounts.tables import LoginAttempt
from backend.errors import TooMany
from backend.settings import Settings

USERNAME_MEMORY = dt.timedelta(hours=24)
STALE_PENDING = dt.timedelta(minutes=1)
ADMISSION_WAIT_SECONDS = 10.0
ADMISSION_POLL_SECONDS = 0.05
ADDRESS_LOCK, USERNAME_LOCK = 1, 2  # first keys of the two-key advisory locks (PostgreSQL)

DEVICE_COOKIE = "ipms_device"
DEVICE_COOKIE_DAYS = 365
SECRET_FILE = "secret_key"


@dataclass
class Tally:
    """Earlier attempts that did not succeed: finished failures (and stale pending ones), and those in flight."""

    failed: list[dt.datetime] = field(default_factory=list)
    pending: list[dt.datetime] = field(default_factory=list)


@dataclass(frozen=True)
class Verdict:
    admit: bool = False
    wait: bool = False
    retry_after: int = 0  # seconds, when refused


ADMIT, WAIT = Verdict(admit=True), Verdict(wait=True)


def _seconds(delta: dt.timedelta) -> int:
    return max(1, math.ceil(delta.total_seconds()))


def address_verdict(tally: Tally, limit: int, window: dt.timedelta, at: dt.datetime) -> Verdict:
    if len(tally.failed) >= limit:
        return Verdict(retry_after=_seconds(min(tally.failed) + window - at))
    if len(tally.failed) + len(tally.pending) >= limit:
        return WAIT
    return ADMIT


def username_delay(failures: int, free: int, cap: dt.timedelta) -> dt.timedelta:
    """The wait before the next attempt after `failures` failures: none for the first `free`, then 2^k s."""
    if failures < free:
        return dt.timedelta(0)
    exponent = failures - free + 1
    return cap if exponent >= 40 else min(dt.timedelta(seconds=2**exponent), cap)


def username_verdict(tally: Tally, free: int, cap: dt.timedelta, at: dt.datetime) -> Verdict:
    failures = len(tally.failed)
    if failures + len(tally.pending) < free:
        return ADMIT
    if failures < free:
        return WAIT
    delay = username_delay(failures, free, cap)
    if tally.pending:
        return Verdict(retry_after=_seconds(delay))
    ready = max(tally.failed) + delay
    return ADMIT if at >= ready else Verdict(retry_after=_seconds(ready - at))


async def _tallies(ip: str, username: str, window: dt.timedelta, at: dt.datetime,
                   with_username: bool) -> tuple[Tally, Tally]:
    """The address's attempts in the window and the username's in the last day that did not succeed (one query)."""
    by_address = (LoginAttempt.ip == ip) & (LoginAttempt.at > at - window)
    where: Any = by_address
    if with_username:
        where = where | ((LoginAttempt.username == username) & (LoginAttempt.at > at - USERNAME_MEMORY))
    rows = await LoginAttempt.select(LoginAttempt.ip, LoginAttempt.username, LoginAttempt.pending,
                                     LoginAttempt.at).where(
        where & (LoginAttempt.succeeded == False)  # noqa: E712
    )
    address, user = Tally(), Tally()
    for row in rows:
        stale = row["at"] < at - STALE_PENDING
        for tally, counts in ((address, row["ip"] == ip and row["at"] > at - window),
                              (user, with_username and row["username"] == username
                               and row["at"] > at - USERNAME_MEMORY)):
            if counts:
                (tally.pending if row["pending"] and not stale else tally.failed).append(row["at"])
    return address, user


async def _lock(kind: int, key: str) -> None:
    await LoginAttempt.raw("SELECT pg_advisory_xact_lock({}, hashtext({}))", kind, key)


async def _try_reserve(ip: str, username: str, settings: Settings, trusted_device: bool,
                       at: dt.datetime) -> int | None:
    """One admission check: the new attempt's id when admitted, None when it should wait; TooMany when refused."""
    window = dt.timedelta(minutes=settings.login_window_minutes)
    async with db.write_transaction():
        if db.is_postgres():  # always address before username: no two transactions wait on each other
            await _lock(ADDRESS_LOCK, ip)
            if not trusted_device:
                await _lock(USERNAME_LOCK, username)
        address, user = await _tallies(ip, username, window, at, with_username=not trusted_device)
        verdict = address_verdict(address, settings.login_max_attempts, window, at)
        _refuse_unless_admitted(verdict, "address")
        if verdict.admit and not trusted_device:
            verdict = username_verdict(user, settings.login_max_attempts, window, at)
            _refuse_unless_admitted(verdict, "username")
        if verdict.wait:
            return None
        [row] = await LoginAttempt.insert(
            LoginAttempt(ip=ip[:64], username=username[:64], succeeded=False, pending=True, at=at)
        ).returning(LoginAttempt.id)
    return int(row["id"])


def _refuse_unless_admitted(verdict: Verdict, limit: str) -> None:
    if verdict.admit or verdict.wait:
        return
    what = "from this address" if limit == "address" else "for this username"
    raise TooMany(f"Too many failed sign-ins {what}; try again in {verdict.retry_after} seconds",
                  extra={"retry_after": verdict.retry_after, "limit": limit})


async def reserve_attempt(ip: str, username: str, settings: Settings, *, trusted_device: bool,
                          at: dt.datetime | None = None) -> int:
    """Record a pending attempt if the limits allow one now (else TooMany with `retry_after`); returns its id."""
    deadline = time.monotonic() + ADMISSION_WAIT_SECONDS
    while True:
        settled = _settled_event()  # taken before the check, so a settlement right after it is not missed
        attempt_id = await _try_reserve(ip, username, settings, trusted_device, at or records.now())
        if attempt_id is not None:
            return attempt_id
        if time.monotonic() >= deadline:
            raise TooMany("Too many sign-ins at once; try again in a moment", extra={"retry_after": 1,
                                                                                     "limit": "address"})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(settled.wait(), ADMISSION_POLL_SECONDS)


async def settle_attempt(attempt_id: int, succeeded: bool) -> None:
    """Mark the attempt finished (in the caller's transaction when there is one; call `announce_settled` after
    it commits)."""
    await LoginAttempt.update({LoginAttempt.pending: False, LoginAttempt.succeeded: succeeded}).where(
        LoginAttempt.id == attempt_id)


_SETTLED: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Event] = weakref.WeakKeyDictionary()


def _settled_event() -> asyncio.Event:
    loop = asyncio.get_running_loop()
    event = _SETTLED.get(loop)
    if event is None:
        event = _SETTLED[loop] = asyncio.Event()
    return event


def announce_settled() -> None:
    """Wake this worker's waiting attempts at once after a settlement committed; other workers' waiters find
    it at their next poll (ADMISSION_POLL_SECONDS)."""
    event = _SETTLED.pop(asyncio.get_running_loop(), None)
    if event is not None:
        event.set()


# ---------------------------------------------------------------- device cookie


@functools.cache
def _key_file(data_dir: Path) -> bytes:
    """Development has no IPMS_SECRET_KEY: a random key made once in the data directory (shared by its workers:
    each writes a private temp file and links it into place; all but the first link fail and read the winner's)."""
    path = data_dir / SECRET_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=data_dir, prefix=".secret-")  # 0600
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(temp, path)
            except FileExistsError:
                pass
        finally:
            os.unlink(temp)
    return path.read_text().strip().encode()


def _device_key(settings: Settings) -> bytes:
    secret = settings.secret_key.encode() if settings.secret_key else _key_file(settings.data_dir.resolve())
    return hmac.new(secret, b"ipms device cookie", hashlib.sha256).digest()


def _signature(settings: Settings, message: str) -> str:
    digest = hmac.new(_device_key(settings), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def device_token(user_id: uuid.UUID, settings: Settings, at: dt.datetime | None = None) -> str:
    """The `ipms_device` cookie's value: the user and the time of the sign-in, signed with the secret key."""
    message = f"{user_id.hex}.{int((at or records.now()).timestamp())}"
    return f"{message}.{_signature(settings, message)}"


def device_user(token: str | None, settings: Settings, at: dt.datetime | None = None) -> uuid.UUID | None:
    """The user a valid, unexpired device cookie names; None for anything else."""
    if not token or token.count(".") != 2:
        return None
    user_hex, issued, signature = token.split(".")
    if not hmac.compare_digest(signature, _signature(settings, f"{user_hex}.{issued}")):
        return None
    try:
        user_id, issued_at = uuid.UUID(hex=user_hex), dt.datetime.fromtimestamp(int(issued), dt.UTC)
    except (ValueError, OverflowError, OSError):
        return None
    if (at or records.now()) - issued_at > dt.timedelta(days=DEVICE_COOKIE_DAYS):
        return None
    return user_id
