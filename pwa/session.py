"""Resolving the signed-in user on the ReactPy websocket, which Litestar's middleware never sees."""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any

from backend.access import Actor
from backend.accounts import services as accounts
from backend.settings import Settings, get_settings
from backend.web import SESSION_COOKIE, origin_allowed

_active: dict[str, Settings] = {}


def configure(settings: Settings) -> None:
    """`create_app` hands its settings over, so pages and API judge sessions by the same rules."""
    _active["settings"] = settings


def active_settings() -> Settings:
    return _active.get("settings") or get_settings()


def session_token(scope: dict[str, Any]) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            cookie = SimpleCookie()
            cookie.load(value.decode("latin-1"))
            if SESSION_COOKIE in cookie:
                return cookie[SESSION_COOKIE].value
    return None


async def current_actor(scope: dict[str, Any]) -> Actor | None:
    """Checked on connect and again on every event: a session ended elsewhere stops working at once."""
    return await accounts.actor_for_session(session_token(scope), active_settings())


def websocket_origin_allowed(scope: dict[str, Any], settings: Settings) -> bool:
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    return origin_allowed(headers.get("origin"), headers.get("host", ""), settings, missing_ok=False)


class OriginGuard:
    """Refuses websocket connections from a foreign Origin (ReactPy checks none): no cross-site hijacking."""

    def __init__(self, app: Any, settings: Settings) -> None:
        self.app, self.settings = app, settings

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket" and not websocket_origin_allowed(scope, self.settings):
            await receive()
            await send({"type": "websocket.close", "code": 1008, "reason": "foreign origin"})
            return
        await self.app(scope, receive, send)
