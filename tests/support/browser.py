"""Browser fixtures: Debian's Chromium driven by Playwright's sync API, one driver and one Chromium per session.

Without /usr/bin/chromium the browser tests skip on a developer's machine and fail under CI (a skip there would
hide them). A phone is a phone-sized context in zh or en that signs in as a demo user; it records every request,
and the test fails if any left the origin or a page threw.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.support.ci import IN_CI

if TYPE_CHECKING:
    from tests.support.demo import Server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
MOBILE_UA = ("Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Chrome/130.0.0.0 Mobile Safari/537.36")
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True,
         "user_agent": MOBILE_UA}
PASSWORD = "demo1234"  # every demo login's
ARTIFACTS = Path(__file__).resolve().parents[1] / "browser" / "artifacts"
CONDITION_TIMEOUT_MS = 15_000  # an upper bound for a screen to show what it must on a loaded 2-core machine


def missing_browser() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} not installed (apt-get install chromium fonts-noto-cjk)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed (pip install -e '.[test]')"
    return None


@pytest.fixture(scope="session")
def chromium_path() -> str:
    reason = missing_browser()
    if reason:
        if IN_CI:
            pytest.fail(f"browser tests must run under CI: {reason}", pytrace=False)
        pytest.skip(reason)
    return str(CHROMIUM)


@pytest.fixture(scope="session")
def playwright_driver(chromium_path: str) -> Iterator[Any]:
    """The Playwright driver, one per session. Every browser fixture takes it from here: the sync API cannot run
    two drivers at once, and while one runs, `asyncio.run` fails in this thread — which is why the browser tests
    run after every other test (`pytest_collection_modifyitems`)."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=CONDITION_TIMEOUT_MS)
    driver = sync_playwright().start()
    try:
        yield driver
    finally:
        driver.stop()


@pytest.fixture(scope="session")
def browser(playwright_driver: Any, chromium_path: str) -> Iterator[Any]:
    """One Chromium for the session; every test works in contexts of its own (cookies, storage, service workers)."""
    launched = playwright_driver.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
    try:
        yield launched
    finally:
        launched.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests last (the session's Playwright driver keeps an event loop in this thread), module by module."""
    items.sort(key=lambda item: "playwright_driver" in getattr(item, "fixturenames", ()) or
               item.get_closest_marker("browser") is not None)


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    """A fresh phone-sized browser context in Chinese (its own cookies)."""
    context = browser.new_context(**PHONE, locale="zh-CN")
    try:
        yield context
    finally:
        context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where browser tests leave screenshots for a person to look at (ignored by git)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


class Phone:
    """A phone-sized browser context signed in as one user, recording every request it makes."""

    def __init__(self, browser: Any, served: Server, lang: str = "zh") -> None:
        self.served = served
        self.context = browser.new_context(**PHONE, locale="zh-CN" if lang == "zh" else "en-US",
                                           extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9" if lang == "zh"
                                                               else "en-US,en;q=0.9"})
        self.context.set_default_timeout(CONDITION_TIMEOUT_MS)
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
def phones(browser: Any, served: Server) -> Iterator[Callable[..., Phone]]:
    """phones(lang="zh") makes a signed-out phone on the module's demo server; every phone must stay on the
    app's origin and throw no JavaScript error."""
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


class InstalledPhone:
    """A phone whose browser profile lives on disk (a persistent context, as an installed app's does): `kill()`
    closes the browser as the system kills an app, `launch()` opens it again on the same profile."""

    def __init__(self, driver: Any, chromium_path: str, profile: Path, served: Server, lang: str = "zh") -> None:
        self.driver, self.chromium_path, self.profile = driver, chromium_path, profile
        self.served, self.lang = served, lang
        self.errors: list[str] = []
        self.context: Any = None
        self.page: Any = None

    def launch(self) -> Any:
        zh = self.lang == "zh"
        self.context = self.driver.chromium.launch_persistent_context(
            str(self.profile), executable_path=self.chromium_path, args=CHROMIUM_ARGS, **PHONE,
            locale="zh-CN" if zh else "en-US", timezone_id="Asia/Shanghai",
            extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9" if zh else "en-US,en;q=0.9"})
        self.context.set_default_timeout(CONDITION_TIMEOUT_MS)
        self.page = self.context.pages[0] if self.context.pages else self.context.new_page()
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        return self.page

    def sign_in(self, username: str) -> Any:
        page = self.page
        page.goto(self.served.base + "/login")
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(self.served.base + "/")
        from playwright.sync_api import expect

        expect(page.locator(".app main.screen")).to_be_visible()
        expect(page.locator(".app [data-state=loading]")).to_have_count(0)
        return page

    def open(self, path: str = "/") -> Any:
        """Open the app at `path` as a tap on its icon does (a navigation; offline, the service worker answers)."""
        self.page.goto(self.served.base + path)
        return self.page

    def screenshot(self, name: str, full_page: bool = True) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def kill(self) -> None:
        if self.context is not None:
            self.context.close()
        self.context = self.page = None


@pytest.fixture
def installed_phones(playwright_driver: Any, chromium_path: str,
                     tmp_path: Path) -> Iterator[Callable[..., InstalledPhone]]:
    """installed_phones(server, lang="zh") makes a phone with a fresh on-disk profile, not yet launched; each must
    throw no JavaScript error."""
    made: list[InstalledPhone] = []

    def make(served: Server, lang: str = "zh") -> InstalledPhone:
        made.append(InstalledPhone(playwright_driver, chromium_path, tmp_path / f"profile-{len(made)}", served, lang))
        return made[-1]

    yield make
    for phone in made:
        phone.kill()
    errors = [error for phone in made for error in phone.errors]
    assert errors == [], f"JavaScript errors: {errors}"
