"""Sign-in limits (issue 10, "Sign-in that holds"): attempts counted atomically in the database per client address,
a growing per-username delay that the owner's device cookie skips, and rehashing of old password hashes."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import datetime as dt
import ipaddress
import uuid

import argon2
import pytest

from backend.accounts import signin
from backend.accounts.services import client_ip, sign_in
from backend.accounts.tables import LoginAttempt, Session, User
from backend.errors import TooMany, Unauthorized
from backend.settings import Settings
from tests.support.accounts import PEER, client_for, device_cookie, login, session_cookie
from tests.support.factories import PASSWORD, make_org, make_user

pytestmark = pytest.mark.anyio

T0 = dt.datetime(2025, 3, 1, 8, 0, tzinfo=dt.UTC)


async def _attempt(settings: Settings, username: str, password: str, ip: str, at: dt.datetime,
                   device: str | None = None) -> int | str:
    """The outcome of one sign-in through the service: 201, 401, or 429 with its Retry-After ("429 after N")."""
    try:
        await sign_in(username, password, ip=ip, user_agent="pytest", settings=settings, at=at, device=device)
    except Unauthorized:
        return 401
    except TooMany as exc:
        return f"429 after {exc.extra['retry_after']}"
    return 201


# --- per client address ---------------------------------------------------------------------------------------


async def test_parallel_failed_sign_ins_from_one_address_cannot_pass_the_limit(api, database):
    """50 wrong passwords at once from one address: exactly the limit are checked (401), the rest refused (429)."""
    await make_org()
    limit = database.login_max_attempts
    replies = await asyncio.gather(*(login(api, f"ghost{i}", "wrong password") for i in range(50)))
    assert collections.Counter(r.status_code for r in replies) == {401: limit, 429: 50 - limit}
    for reply in replies:
        if reply.status_code == 429:
            body = reply.json()
            assert body["error"] == "too_many_requests" and body["limit"] == "address", body
            assert int(reply.headers["retry-after"]) == body["retry_after"] >= 1
            assert session_cookie(reply) is None
    rows = await LoginAttempt.select()
    assert len(rows) == limit and not any(r["pending"] or r["succeeded"] for r in rows)


async def test_parallel_correct_sign_ins_from_one_address_all_succeed(api, database):
    """An office behind one address signing in at once: more than the limit in flight wait their turn, none is
    refused (attempts being checked fill the allowance only until they turn out right)."""
    org = await make_org()
    users = [*org.a.users.values(), *org.b.users.values()]
    users += [await make_user(org.a.branch, "agent", f"A_extra{i}") for i in range(20 - len(users))]
    assert len(users) == 20 > database.login_max_attempts
    replies = await asyncio.gather(*(login(api, user.username) for user in users))
    assert [r.status_code for r in replies] == [201] * 20, [r.text for r in replies if r.status_code != 201]
    assert await LoginAttempt.count().where(LoginAttempt.succeeded == True) == 20  # noqa: E712


async def test_login_rate_limit_ignores_spoofed_forwarded_for(api, database):
    org = await make_org()
    agent = org.a.users["agent1"]
    limit = database.login_max_attempts
    for attempt in range(limit):
        # A new spoofed address and a new username every time: only the socket address ties them together.
        response = await login(api, f"ghost{attempt}", "wrong password",
                               **{"x-forwarded-for": f"198.51.100.{attempt + 1}"})
        assert response.status_code == 401, (attempt, response.text)
    blocked = await login(api, agent.username, PASSWORD, **{"x-forwarded-for": "192.0.2.200"})
    assert blocked.status_code == 429, blocked.text
    assert blocked.json()["error"] == "too_many_requests"
    assert session_cookie(blocked) is None
    assert not await Session.exists().where(Session.user == agent.id)
    # The limit is per address: the same user from another address signs in.
    async with client_for(database, peer="192.0.2.50") as elsewhere:
        assert (await login(elsewhere, agent.username)).status_code == 201


async def test_address_limit_lifts_when_the_oldest_failure_leaves_the_window(database):
    await make_org()
    window = dt.timedelta(minutes=database.login_window_minutes)
    for i in range(database.login_max_attempts):
        assert await _attempt(database, f"ghost{i}", "nope", PEER, T0 + dt.timedelta(seconds=i)) == 401
    assert await _attempt(database, "ghost", "nope", PEER, T0 + dt.timedelta(seconds=30)) == (
        f"429 after {int(window.total_seconds()) - 30}")
    assert await _attempt(database, "ghost", "nope", PEER, T0 + window + dt.timedelta(seconds=1)) == 401


async def test_login_rate_limit_counts_forwarded_for_from_trusted_proxy(database):
    proxy = dataclasses.replace(database, login_max_attempts=3,
                                trusted_proxies=(ipaddress.ip_network(f"{PEER}/32"),))
    org = await make_org()
    agent = org.a.users["agent1"]
    async with client_for(proxy) as client:
        for attempt in range(3):
            response = await login(client, f"ghost{attempt}", "nope", **{"x-forwarded-for": "198.51.100.1"})
            assert response.status_code == 401
        assert (await login(client, agent.username, **{"x-forwarded-for": "198.51.100.1"})).status_code == 429
        # Behind the trusted proxy, another real client is another address.
        assert (await login(client, agent.username, **{"x-forwarded-for": "198.51.100.2"})).status_code == 201
    ips = {r["ip"] for r in await Session.select(Session.ip).where(Session.user == agent.id)}
    assert ips == {"198.51.100.2"}


async def test_attempt_left_pending_by_a_dead_worker_counts_as_a_failure(database):
    limit = database.login_max_attempts
    await LoginAttempt.insert(*(LoginAttempt(ip=PEER, username=f"ghost{i}", pending=True, at=T0)
                                for i in range(limit)))
    # Still being checked (a moment ago): a new attempt waits for them rather than failing at once...
    assert signin.address_verdict(signin.Tally(pending=[T0] * limit), limit, dt.timedelta(minutes=15), T0).wait
    # ...and once they are stale they count as failures: refused with the time until the window frees a place.
    later = T0 + signin.STALE_PENDING + dt.timedelta(seconds=1)
    assert await _attempt(database, "ghost", "nope", PEER, later) == f"429 after {15 * 60 - 61}"


# --- per username ---------------------------------------------------------------------------------------------


def test_username_delay_grows_from_two_seconds_and_is_capped():
    cap = dt.timedelta(minutes=15)
    delays = [signin.username_delay(failures, 10, cap).total_seconds() for failures in range(9, 22)]
    assert delays == [0, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900]
    assert signin.username_delay(10**6, 10, cap) == cap


async def test_username_under_attack_from_many_addresses_waits_longer_after_each_failure(database):
    org = await make_org()
    agent = org.a.users["agent1"]
    free = database.login_max_attempts

    def at(seconds: float) -> dt.datetime:
        return T0 + dt.timedelta(seconds=seconds)

    # 50 guesses at once, each from its own address: only the free allowance is checked, the rest must wait.
    outcomes = await asyncio.gather(*(_attempt(database, agent.username, "guess", f"198.51.100.{i}", at(0))
                                      for i in range(50)))
    assert outcomes.count(401) == free and all(o.startswith("429") for o in outcomes if o != 401)
    assert await _attempt(database, agent.username, "guess", "192.0.2.1", at(1)) == "429 after 1"
    assert await _attempt(database, agent.username, "guess", "192.0.2.2", at(2)) == 401  # waited 2 s
    assert await _attempt(database, agent.username, PASSWORD, "192.0.2.3", at(5)) == "429 after 1"  # now 4 s
    assert await _attempt(database, agent.username, "guess", "192.0.2.4", at(6)) == 401
    assert await _attempt(database, agent.username, "guess", "192.0.2.5", at(13)) == "429 after 1"  # now 8 s
    # Not a lockout: the owner, who waited, signs in with the right password; other users were never slowed.
    assert await _attempt(database, agent.username, PASSWORD, "192.0.2.6", at(14)) == 201
    assert await _attempt(database, org.a.users["agent2"].username, PASSWORD, "192.0.2.6", at(14)) == 201


async def test_username_failures_are_forgotten_after_a_day(database):
    org = await make_org()
    agent = org.a.users["agent1"]
    free = database.login_max_attempts
    await LoginAttempt.insert(*(LoginAttempt(ip=f"198.51.100.{i}", username=agent.username, at=T0)
                                for i in range(40)))
    assert await _attempt(database, agent.username, PASSWORD, PEER, T0 + dt.timedelta(minutes=1)) == (
        f"429 after {15 * 60 - 60}")  # the delay is capped at the window
    day = T0 + signin.USERNAME_MEMORY
    outcomes = [await _attempt(database, agent.username, "typo", f"192.0.2.{i}", day) for i in range(free - 1)]
    assert [*outcomes, await _attempt(database, agent.username, PASSWORD, PEER, day)] == [*[401] * (free - 1), 201]


async def _attacked(username: str, failures: int = 20) -> None:
    """What an attack from many addresses leaves behind: `failures` wrong passwords in the last minute."""
    now = dt.datetime.now(dt.UTC)
    await LoginAttempt.insert(*(LoginAttempt(ip=f"198.51.100.{i}", username=username,
                                             at=now - dt.timedelta(seconds=60 - i)) for i in range(failures)))


async def test_owner_with_device_cookie_signs_in_during_a_username_attack(database):
    org = await make_org()
    agent, other = org.a.users["agent1"], org.a.users["agent2"]
    async with client_for(database, peer="192.0.2.10") as phone:
        first = await login(phone, agent.username)
        assert first.status_code == 201, first.text
        device = device_cookie(first).value
        others = device_cookie(await login(phone, other.username)).value
    await _attacked(agent.username)

    async with client_for(database, peer="198.51.100.200") as attacker:
        for password in ("guess", PASSWORD):  # refused before the password is looked at
            blocked = await login(attacker, agent.username, password)
            assert blocked.status_code == 429 and blocked.json()["limit"] == "username", blocked.text
            assert 800 < int(blocked.headers["retry-after"]) <= 15 * 60
    async with client_for(database, peer="192.0.2.10") as phone:
        assert (await login(phone, agent.username)).status_code == 429  # a browser without the cookie waits
        assert (await login(phone, agent.username, device=others)).status_code == 429  # another user's cookie
        forged = device.rsplit(".", 1)[0] + "." + "A" * 43
        assert (await login(phone, agent.username, device=forged)).status_code == 429
        assert (await login(phone, agent.username, device=device.replace(".", ".1", 1))).status_code == 429
        owner = await login(phone, agent.username, device=device)
        assert owner.status_code == 201, owner.text
        assert (await login(phone, agent.username, "typo", device=device)).status_code == 401  # still checked


async def test_device_cookie_is_httponly_signed_and_names_the_user(database):
    org = await make_org()
    agent = org.a.users["agent1"]
    async with client_for(database) as client:
        reply = await login(client, agent.username)
    morsel = device_cookie(reply)
    assert morsel["httponly"] is True and morsel["samesite"].lower() == "strict" and morsel["path"] == "/"
    assert int(morsel["max-age"]) == signin.DEVICE_COOKIE_DAYS * 86400
    assert signin.device_user(morsel.value, database) == agent.id
    assert morsel.value.startswith(agent.id.hex + ".")
    assert signin.device_user(morsel.value, dataclasses.replace(database, secret_key="k" * 40)) is None
    expired = dt.datetime.now(dt.UTC) + dt.timedelta(days=signin.DEVICE_COOKIE_DAYS + 1)
    assert signin.device_user(morsel.value, database, at=expired) is None
    production = dataclasses.replace(database, env="production", secret_key="s" * 40)
    async with client_for(production) as client:
        assert device_cookie(await login(client, agent.username))["secure"] is True


def test_device_key_made_once_in_the_data_directory_without_a_secret_key(tmp_path):
    settings = Settings(env="development", data_dir=tmp_path)
    token = signin.device_token(uuid.UUID(int=7), settings)
    assert (tmp_path / signin.SECRET_FILE).stat().st_mode & 0o077 == 0
    assert signin.device_user(token, Settings(env="development", data_dir=tmp_path)) == uuid.UUID(int=7)
    other = tmp_path / "other"
    assert signin.device_user(token, Settings(env="development", data_dir=other)) is None


# --- password hashes ------------------------------------------------------------------------------------------


async def test_sign_in_rehashes_a_hash_made_with_old_parameters(database):
    org = await make_org()
    agent = org.a.users["agent1"]
    old = argon2.PasswordHasher().hash(PASSWORD)  # the library's defaults: t = 3, m = 64 MiB, p = 4
    await User.update({User.password_hash: old}).where(User.id == agent.id)
    await sign_in(agent.username, PASSWORD, ip=PEER, user_agent="pytest", settings=database)
    stored = (await User.select(User.password_hash).where(User.id == agent.id).first())["password_hash"]
    assert stored != old
    parameters = argon2.extract_parameters(stored)
    assert (parameters.type, parameters.time_cost, parameters.memory_cost, parameters.parallelism) == (
        argon2.Type.ID, 2, 19456, 1)
    assert argon2.PasswordHasher().verify(stored, PASSWORD)
    await sign_in(agent.username, PASSWORD, ip=PEER, user_agent="pytest", settings=database)
    assert (await User.select(User.password_hash).where(User.id == agent.id).first())["password_hash"] == stored


async def test_failed_sign_in_leaves_an_old_hash_alone(database):
    org = await make_org()
    agent = org.a.users["agent1"]
    old = argon2.PasswordHasher().hash(PASSWORD)
    await User.update({User.password_hash: old}).where(User.id == agent.id)
    assert await _attempt(database, agent.username, "wrong", PEER, T0) == 401
    assert (await User.select(User.password_hash).where(User.id == agent.id).first())["password_hash"] == old


# --- the client's address -------------------------------------------------------------------------------------


def _settings(*trusted: str) -> Settings:
    return Settings(trusted_proxies=tuple(ipaddress.ip_network(t) for t in trusted))


def test_client_ip_ignores_forwarded_for_without_trusted_proxy():
    settings = _settings()
    assert client_ip("203.0.113.7", "198.51.100.1", settings) == "203.0.113.7"
    assert client_ip("203.0.113.7", None, settings) == "203.0.113.7"
    assert client_ip(None, "198.51.100.1", settings) == "unknown"


def test_client_ip_believes_only_trusted_proxies():
    settings = _settings("10.0.0.0/8", "127.0.0.1")
    # Direct connection from an untrusted address: its header is ignored.
    assert client_ip("203.0.113.7", "198.51.100.1", settings) == "203.0.113.7"
    # Through the trusted proxy: the address the proxy saw.
    assert client_ip("127.0.0.1", "198.51.100.1", settings) == "198.51.100.1"
    # A client-sent (spoofed) first hop is skipped: the nearest untrusted hop counts.
    assert client_ip("10.0.0.5", "6.6.6.6, 198.51.100.1", settings) == "198.51.100.1"
    # Several trusted proxies in a row are walked through.
    assert client_ip("10.0.0.5", "198.51.100.1, 10.0.0.9, 10.1.2.3", settings) == "198.51.100.1"
    # Nothing but trusted hops: the farthest one.
    assert client_ip("10.0.0.5", "10.0.0.9", settings) == "10.0.0.9"
    assert client_ip("10.0.0.5", None, settings) == "10.0.0.5"


def test_client_ip_with_ipv6_proxy():
    settings = _settings("::1/128")
    assert client_ip("::1", "2001:db8::7", settings) == "2001:db8::7"
    assert client_ip("2001:db8::9", "2001:db8::7", settings) == "2001:db8::9"
