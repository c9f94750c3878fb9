"""One push request: aes128gcm body (the `webpush` package), a cached VAPID token, TTL/Urgency/Topic headers.

`webpush` 1.0.6's `WebPush.get()` signs a new JWT on every call (half the cost of a push) and writes its `ttl`
argument into the shared instance, and it sends neither `Urgency` nor `Topic`. So this module uses the package's
encryption only and builds the headers itself, with one token per push-service origin, reused until an hour
before it expires.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol
from urllib.parse import urlsplit

import jwt
from webpush import WebPush  # type: ignore[import-untyped]
from webpush.types import WebPushKeys, WebPushSubscription  # type: ignore[import-untyped]

from notifications.push.keys import VapidKeys

Clock = Callable[[], dt.datetime]
TOKEN_LIFETIME = dt.timedelta(hours=12)  # RFC 8292: at most 24 h
TOKEN_RENEW_BEFORE = dt.timedelta(hours=1)
FALLBACK_SUBJECT = "ipms@localhost"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def audience(endpoint: str) -> str:
    """The JWT `aud`: scheme and host of the push service, without the port (as `webpush` does)."""
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.hostname}"


class VapidSigner:
    """`Authorization: vapid t=…, k=…` per push-service origin, signed once per token lifetime."""

    def __init__(self, keys: VapidKeys, subject: str, clock: Clock = utcnow) -> None:
        self.keys, self.clock = keys, clock
        self.subject = f"mailto:{subject or FALLBACK_SUBJECT}"
        self._pem = keys.private_pem
        self._cache: dict[str, tuple[str, dt.datetime]] = {}
        self.signed = 0

    def header(self, endpoint: str) -> str:
        aud = audience(endpoint)
        now = self.clock()
        cached = self._cache.get(aud)
        if cached and cached[1] - now > TOKEN_RENEW_BEFORE:
            return cached[0]
        expires = now + TOKEN_LIFETIME
        token = jwt.encode({"aud": aud, "exp": int(expires.timestamp()), "sub": self.subject}, self._pem,
                           algorithm="ES256")
        value = f"vapid t={token}, k={self.keys.application_server_key}"
        self._cache[aud] = (value, expires)
        self.signed += 1
        return value


class Encryptor:
    """RFC 8291 aes128gcm with the `webpush` package's own routine (pinned at 1.0.6)."""

    def __init__(self, keys: VapidKeys) -> None:
        self._webpush = WebPush(private_key=keys.private_pem, public_key=keys.public_pem, subscriber=FALLBACK_SUBJECT)

    def encrypt(self, plaintext: bytes, p256dh: str, auth: str) -> bytes:
        subscription = WebPushSubscription.model_construct(
            endpoint="", keys=WebPushKeys.model_construct(p256dh=p256dh, auth=auth)
        )
        encrypted: bytes = self._webpush._encrypt(plaintext, subscription)  # webpush leaves its helper unannotated
        return encrypted


def push_headers(*, authorization: str, ttl: int, urgency: str, topic: str) -> dict[str, str]:
    headers = {"Authorization": authorization, "TTL": str(ttl), "Urgency": urgency,
               "Content-Encoding": "aes128gcm", "Content-Type": "application/octet-stream"}
    if topic:
        headers["Topic"] = topic
    return headers


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]  # names in lower case
    text: str = ""


class Transport(Protocol):
    async def post(self, url: str, headers: dict[str, str], body: bytes) -> Reply: ...

    async def close(self) -> None: ...


class AiohttpTransport:
    """One pooled aiohttp session (the faster on 2 cores: see bench/push.py)."""

    name = "aiohttp"

    def __init__(self, timeout: float = 10.0, connections: int = 100) -> None:
        import aiohttp

        self._aiohttp = aiohttp
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=min(timeout, 5.0))
        self._limit = connections
        self._session: aiohttp.ClientSession | None = None

    async def post(self, url: str, headers: dict[str, str], body: bytes) -> Reply:
        if self._session is None or self._session.closed:
            connector = self._aiohttp.TCPConnector(limit=self._limit, limit_per_host=self._limit, ttl_dns_cache=300)
            self._session = self._aiohttp.ClientSession(connector=connector, timeout=self._timeout,
                                                        auto_decompress=False)
        async with self._session.post(url, data=body, headers=headers, allow_redirects=False) as response:
            content = await response.read()  # push services answer with a few bytes; reading frees the connection
            text = content[:500].decode(errors="replace") if response.status >= 300 else ""
            return Reply(response.status, {k.lower(): v for k, v in response.headers.items()}, text)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class HttpxTransport:
    """One pooled httpx client; kept for the benchmark's comparison."""

    name = "httpx"

    def __init__(self, timeout: float = 10.0, connections: int = 100) -> None:
        import httpx

        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        )

    async def post(self, url: str, headers: dict[str, str], body: bytes) -> Reply:
        response = await self._client.post(url, content=body, headers=headers)
        text = response.text[:500] if response.status_code >= 300 else ""
        return Reply(response.status_code, dict(response.headers), text)  # httpx lower-cases the names

    async def close(self) -> None:
        await self._client.aclose()


def make_transport(kind: str = "aiohttp", timeout: float = 10.0, connections: int = 100) -> Transport:
    return (HttpxTransport if kind == "httpx" else AiohttpTransport)(timeout=timeout, connections=connections)


@dataclass(frozen=True)
class RetryPolicy:
    base: dt.timedelta = dt.timedelta(seconds=30)
    cap: dt.timedelta = dt.timedelta(hours=1)
    max_attempts: int = 8
    max_retry_after: dt.timedelta = dt.timedelta(hours=24)

    def backoff(self, attempts: int) -> dt.timedelta:
        """30 s, 1 min, 2 min, … up to the cap; `attempts` counts the one that just failed."""
        return min(self.cap, self.base * (1 << max(0, attempts - 1)))


def retry_after(value: str | None, now: dt.datetime) -> dt.timedelta | None:
    """`Retry-After` as seconds or an HTTP date (RFC 9110); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return dt.timedelta(seconds=int(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(dt.timedelta(0), when - now)


@dataclass(frozen=True)
class Outcome:
    status: Literal["sent", "gone", "retry", "failed"]
    reason: str = ""
    next_at: dt.datetime | None = None


def classify(reply: Reply | None, error: str, attempts: int, now: dt.datetime, policy: RetryPolicy) -> Outcome:
    """What a push service's answer (or a network error) means for the delivery row."""
    if reply is not None and 200 <= reply.status < 300:
        return Outcome("sent")
    if reply is not None and reply.status in (404, 410):
        return Outcome("gone", f"HTTP {reply.status}: subscription expired or unsubscribed")
    transient = reply is None or reply.status == 429 or reply.status >= 500
    reason = error if reply is None else f"HTTP {reply.status} {reply.text}".strip()[:500]
    if not transient:
        return Outcome("failed", reason)
    if attempts >= policy.max_attempts:
        return Outcome("failed", f"gave up after {attempts} attempts: {reason}"[:500])
    wait = retry_after(reply.headers.get("retry-after"), now) if reply else None
    delay = min(wait, policy.max_retry_after) if wait is not None else policy.backoff(attempts)
    return Outcome("retry", reason, now + delay)
