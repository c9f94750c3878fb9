"""Fixtures for the app's browser tests: a served demo organisation and Debian's Chromium at a phone viewport.

Import the fixtures into a test module (`from tests.browser.support import *`). The server is `ipms serve` in a
subprocess on a free port with its own data directory seeded by `ipms demo`; every page records its requests and
a test fails if any leaves the origin. Never `playwright install`: the browser is /usr/bin/chromium.
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
REPO = Path(__file__).resolve().parents[2]
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync"]
MOBILE_UA = ("Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Chrome/130.0.0.0 Mobile Safari/537.36")
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True,
         "user_agent": MOBILE_UA}
PASSWORD = "demo1234"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

pytestmark = pytest.mark.browser


def _require_chromium() -> None:
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing (apt-get install chromium)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Served:
    base: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    log: Path
    env: dict[str, str] = field(default_factory=dict)

    def db(self) -> sqlite3.Connection:
        """Read-only look at the served database, to state what each role must see."""
        connection = sqlite3.connect(f"file:{self.data_dir / 'ipms.sqlite3'}?mode=ro", uri=True, timeout=30)
        connection.row_factory = sqlite3.Row
        return connection

    def user_id(self, username: str) -> str:
        with self.db() as connection:
            return connection.execute("SELECT id FROM users WHERE username = ?", (username,)).fetchone()[0]


def _ipms(*args: str, env: dict[str, str]) -> list[str]:
    return [sys.executable, "-m", "backend.cli", *args]


def start_server(tmp: Path) -> Served:
    data_dir = tmp / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    env = {**os.environ, "IPMS_DATA_DIR": str(data_dir), "IPMS_PORT": str(port), "IPMS_HOST": "127.0.0.1",
           "IPMS_ENV": "test", "IPMS_DEFAULT_LANGUAGE": "zh", "PYTHONUNBUFFERED": "1"}
    seeded = subprocess.run(_ipms("demo", env=env), env=env, cwd=REPO, capture_output=True, timeout=180)
    if seeded.returncode != 0:
        raise RuntimeError(f"ipms demo failed:\n{seeded.stderr.decode()[-4000:]}")
    log = tmp / "server.log"
    process = subprocess.Popen(_ipms("serve", env=env), env=env, cwd=REPO, stdout=log.open("wb"),
                               stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"ipms serve did not start:\n{log.read_text()[-4000:]}")
        time.sleep(0.2)
    return Served(base=base, data_dir=data_dir, process=process, log=log, env=env)


def stop_server(served: Served) -> None:
    served.process.terminate()
    try:
        served.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        served.process.kill()


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    _require_chromium()
    server = start_server(tmp_path_factory.mktemp("pwa-server"))
    yield server
    stop_server(server)


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Any]:
    _require_chromium()
    from tests.browser.conftest import shared_playwright

    yield shared_playwright()  # one driver per process, shared with every module (see there)


@pytest.fixture(scope="session")
def chromium(playwright_instance: Any) -> Iterator[Any]:
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
    yield browser
    browser.close()


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

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def phone(chromium: Any, served: Served) -> Iterator[Any]:
    """phone(lang="zh") makes a signed-out phone; every phone must stay on the app's origin."""
    phones: list[Phone] = []

    def make(lang: str = "zh") -> Phone:
        phones.append(Phone(chromium, served, lang))
        return phones[-1]

    yield make
    for item in phones:
        foreign = item.foreign_requests()
        errors = item.errors
        item.close()
        assert foreign == [], f"requests left the origin: {foreign}"
        assert errors == [], f"JavaScript errors: {errors}"


def clean_artifacts() -> None:
    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
