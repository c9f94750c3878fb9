"""Fixtures for the photo API: the two-branch organisation and an HTTP client on app settings of the test's choice."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest

from backend import db
from backend.settings import Settings
from tests.factories import Org, make_org


@pytest.fixture
async def org(database: Settings) -> Org:
    return await make_org()


@pytest.fixture
def app_with(database: Settings) -> Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]:
    """`async with app_with(keep_originals=True) as client:` — the API on this test's database, other settings."""
    from backend.app import create_litestar

    @asynccontextmanager
    async def open_client(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        settings = dataclasses.replace(database, **overrides)
        app = create_litestar(settings, run_migrations=False, engine=db.current_engine())
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 4711))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
            yield client

    return open_client
