"""Helpers for the app's screen tests, on top of tests/browser/conftest.py (its demo server, Chromium and skip rule).

Import `served` and `phones` into a test module. A phone is a phone-sized context in zh or en that signs in as a
demo user; it records every request, and the test fails if any left the origin or a page threw.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

# Conditions, not delays: an upper bound for a screen to show what it must on a loaded 2-core machine.
expect.set_options(timeout=15_000)

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
MOBILE_UA = ("Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Chrome/130.0.0.0 Mobile Safari/537.36")
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True,
         "user_agent": MOBILE_UA}
PASSWORD = "demo1234"

pytestmark = pytest.mark.browser


@dataclass
class Served:
    """The demo server of tests/browser/conftest.py, with read access to its database."""

    base: str
    data_dir: Path

    def db(self) -> sqlite3.Connection:
        """Read-only look at the served database, to state what each role must see."""
        connection = sqlite3.connect(f"file:{self.data_dir / 'ipms.sqlite3'}?mode=ro", uri=True, timeout=30)
        connection.row_factory = sqlite3.Row
        return connection

    def user_id(self, username: str) -> str:
        with self.db() as connection:
            return connection.execute("SELECT id FROM users WHERE username = ?", (username,)).fetchone()[0]


@pytest.fixture(scope="module")
def served(demo_server: Any) -> Served:
    return Served(base=demo_server.url, data_dir=demo_server.data_dir)


class Phone:
    """A phone-sized browser context signed in as one user, recording every request it makes."""

    def __init__(self, browser: Any, served: Served, lang: str = "zh") -> None:
        self.served = served
        self.context = browser.new_context(**PHONE, locale="zh-CN" if lang == "zh" else "en-US",
                                           extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9" if lang == "zh"
                                                               else "en-US,en;q=0.9"})
        self.context.set_default_timeout(15_000)
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.context.on("request", lambda request: self.requests.append(request.url))
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def sign_in(self, username: str) -> Any:
        page = self.page
        page.goto(self.served.base + "/login")
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(self.served.base + "/")
        self.ready()
        return page

    def open(self, path: str) -> Any:
        self.page.goto(self.served.base + path)
        self.ready()
        return self.page

    def ready(self) -> None:
        """Wait until the screen has painted its data (no loading state left in it)."""
        from playwright.sync_api import expect

        expect(self.page.locator(".app main.screen")).to_be_visible()
        expect(self.page.locator(".app [data-state=loading]")).to_have_count(0)

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def foreign_requests(self) -> list[str]:
        allowed = (self.served.base, "data:", "blob:", self.served.base.replace("http", "ws", 1))
        return [url for url in self.requests if not url.startswith(allowed)]

    closed = False

    def close(self) -> None:
        self.closed = True
        self.context.close()


@pytest.fixture
def phones(browser: Any, served: Served) -> Iterator[Any]:
    """phones(lang="zh") makes a signed-out phone; every phone must stay on the app's origin."""
    made: list[Phone] = []

    def make(lang: str = "zh") -> Phone:
        made.append(Phone(browser, served, lang))
        return made[-1]

    yield make
    for item in made:
        foreign = item.foreign_requests()
        errors = item.errors
        if not item.closed:
            item.close()
        assert foreign == [], f"requests left the origin: {foreign}"
        assert errors == [], f"JavaScript errors: {errors}"



# Names the push tests import (they predate conftest.py's driver and browser fixtures; these now reuse them, since
# the sync API cannot run two Playwright drivers at once).
@pytest.fixture(scope="module")
def playwright_instance(playwright_driver: Any) -> Any:
    return playwright_driver


@pytest.fixture(scope="module")
def chromium(browser: Any) -> Any:
    return browser


@pytest.fixture
def phone(phones: Any) -> Any:
    return phones
