"""A push service on 127.0.0.1 that plays the browser's side too: it makes the P-256 key pair and auth secret a
browser would, checks the VAPID JWT (signature and claims) and the TTL/Urgency/Topic headers of every request,
and decrypts the body with `http_ece` (RFC 8291) so a test can read the JSON that the phone would see.

Answers are scripted per subscription (`answers[name] = [(410, {}), ...]`, then 201); `stop()`/`start()` take it
down and bring it back on the same port.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import http_ece
import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

TOPIC = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
URGENCIES = {"very-low", "low", "normal", "high"}


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Browser:
    """One browser's push subscription: the keys a real browser would keep to itself."""

    name: str
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes

    @property
    def p256dh(self) -> str:
        return b64(self.private_key.public_key().public_bytes(serialization.Encoding.X962,
                                                              serialization.PublicFormat.UncompressedPoint))

    def subscription_json(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": b64(self.auth)}}

    def decrypt(self, body: bytes) -> bytes:
        return http_ece.decrypt(body, private_key=self.private_key, auth_secret=self.auth, version="aes128gcm")


def fake_browser(name: str = "phone", endpoint: str = "") -> Browser:
    """A browser's subscription keys without a running stand-in (for API tests that never send)."""
    endpoint = endpoint or f"https://push.example.com/push/{name}-{os.urandom(8).hex()}"
    return Browser(name, endpoint, ec.generate_private_key(ec.SECP256R1()), os.urandom(16))


@dataclass
class Received:
    browser: str
    headers: dict[str, str]
    claims: dict[str, Any]
    plaintext: bytes
    status: int

    @property
    def message(self) -> dict[str, Any]:
        return json.loads(self.plaintext)


@dataclass
class PushServiceStandIn:
    application_server_key: str  # the app's VAPID public key, as the browser was given it
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
    decrypt: bool = True
    port: int = field(default_factory=free_port)
    browsers: dict[str, Browser] = field(default_factory=dict)
    answers: dict[str, list[tuple[int, dict[str, str]]]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    hits: int = 0
    _runner: web.AppRunner | None = None

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def browser(self, name: str) -> Browser:
        made = Browser(name, f"{self.origin}/push/{name}", ec.generate_private_key(ec.SECP256R1()), os.urandom(16))
        self.browsers[name] = made
        return made

    def delivered(self, name: str) -> list[Received]:
        return [r for r in self.received if r.browser == name and 200 <= r.status < 300]

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/push/{name}", self._push)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _check(self, request: web.Request, body: bytes) -> dict[str, Any]:
        """Every rule of RFC 8030/8292 the app must follow; failures are collected, not raised."""
        headers = request.headers
        scheme, _, params = headers.get("Authorization", "").partition(" ")
        fields = dict(part.strip().split("=", 1) for part in params.split(",") if "=" in part)
        claims: dict[str, Any] = {}
        if scheme != "vapid" or fields.get("k") != self.application_server_key:
            self.problems.append(f"Authorization is not vapid with our key: {headers.get('Authorization')!r}")
        else:
            public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64(fields["k"]))
            try:
                claims = jwt.decode(fields["t"], public, algorithms=["ES256"], audience="http://127.0.0.1",
                                    options={"verify_exp": False, "require": ["aud", "exp", "sub"]})
            except jwt.PyJWTError as exc:
                self.problems.append(f"JWT rejected: {exc}")
            now = self.clock().timestamp()
            if claims and not (now < claims["exp"] <= now + 24 * 3600):
                self.problems.append(f"JWT exp {claims['exp']} not within 24 h after {now}")
            if claims and not re.fullmatch(r"mailto:[^@\s]+@[^@\s]+", claims["sub"]):
                self.problems.append(f"JWT sub is not a mailto: address: {claims['sub']!r}")
        if not headers.get("TTL", "").isdigit():
            self.problems.append(f"TTL header missing or not a number: {headers.get('TTL')!r}")
        if headers.get("Urgency") not in URGENCIES:
            self.problems.append(f"Urgency header missing or wrong: {headers.get('Urgency')!r}")
        if "Topic" in headers and not TOPIC.match(headers["Topic"]):
            self.problems.append(f"Topic is not ≤ 32 base64url characters: {headers['Topic']!r}")
        if headers.get("Content-Encoding") != "aes128gcm":
            self.problems.append(f"Content-Encoding is not aes128gcm: {headers.get('Content-Encoding')!r}")
        if len(body) > 4096:
            self.problems.append(f"body of {len(body)} bytes is over the 4 KB push services accept")
        return claims

    async def _push(self, request: web.Request) -> web.Response:
        self.hits += 1
        name = request.match_info["name"]
        body = await request.read()
        if not self.decrypt:
            return web.Response(status=201)
        claims = self._check(request, body)
        plaintext = b""
        if name in self.browsers:
            try:
                plaintext = self.browsers[name].decrypt(body)
            except Exception as exc:
                self.problems.append(f"cannot decrypt the push for {name}: {exc!r}")
        script = self.answers.get(name) or []
        status, headers = script.pop(0) if script else (201, {})
        self.received.append(Received(name, dict(request.headers), claims, plaintext, status))
        return web.Response(status=status, headers=headers)
