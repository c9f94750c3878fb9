"""HTTP steps shared by the sign-in, session and account tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from http.cookies import SimpleCookie
from typing import Any

import httpx

from backend import db
from backend.settings import Settings
from backend.web import DEVICE_COOKIE, SESSION_COOKIE
from tests.support.factories import PASSWORD

PEER = "203.0.113.7"  # the `api` fixture's socket peer


@contextlib.asynccontextmanager
async def client_for(settings: Settings, peer: str = PEER) -> AsyncIterator[httpx.AsyncClient]:
    """Like the `api` fixture, but with settings (and a peer address) of the test's choosing."""
    from backend.app import create_litestar
    from pwa import session as pwa_session

    saved = dict(pwa_session._active)
    app = create_litestar(settings, run_migrations=False, engine=db.current_engine())
    transport = httpx.ASGITransport(app=app, client=(peer, 4711))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
            yield client
    finally:
        pwa_session._active.clear()
        pwa_session._active.update(saved)


def cookie(response: httpx.Response, name: str) -> Any:
    """The `name` morsel of the response's Set-Cookie headers (None when absent)."""
    for header in response.headers.get_list("set-cookie"):
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        if name in jar:
            return jar[name]
    return None


def session_cookie(response: httpx.Response) -> Any:
    return cookie(response, SESSION_COOKIE)


def device_cookie(response: httpx.Response) -> Any:
    return cookie(response, DEVICE_COOKIE)


async def login(client: httpx.AsyncClient, username: str, password: str = PASSWORD, *, device: str | None = None,
                **headers: str) -> httpx.Response:
    """POST /api/auth/login with no cookie but the `ipms_device` one given (every call names its cookies)."""
    if device is not None:
        headers["cookie"] = f"{DEVICE_COOKIE}={device}"
    response = await client.post("/api/auth/login", json={"username": username, "password": password},
                                 headers=headers)
    client.cookies.clear()
    return response
