"""Browser tests: Debian's Chromium driven by Playwright, against the real server started as a subprocess.

Without /usr/bin/chromium they skip on a developer's machine and fail under CI (a skip there would hide them).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
    "user_agent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/126.0.0.0 Mobile Safari/537.36",
    "locale": "zh-CN",
}
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
START_TIMEOUT = 90  # seconds: an upper bound while waiting for the server to answer, not a delay


def _missing_browser() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} not installed (apt-get install chromium fonts-noto-cjk)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed (pip install -e '.[test]')"
    return None


@pytest.fixture(scope="session")
def chromium_path() -> str:
    reason = _missing_browser()
    if reason:
        if IN_CI:
            pytest.fail(f"browser tests must run under CI: {reason}", pytrace=False)
        pytest.skip(reason)
    return str(CHROMIUM)


@pytest.fixture(scope="module")
def playwright_driver(chromium_path: str) -> Iterator[Any]:
    """The Playwright driver, one per test module. Every browser fixture takes it from here: the sync API cannot
    run two drivers at once, and while one runs, `asyncio.run` fails in this thread, so it must stop when the
    module's tests are done rather than at the end of the session (database fixtures tear down with asyncio)."""
    from playwright.sync_api import sync_playwright

    driver = sync_playwright().start()
    try:
        yield driver
    finally:
        driver.stop()


@pytest.fixture(scope="module")
def browser(playwright_driver: Any, chromium_path: str) -> Iterator[Any]:
    launched = playwright_driver.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
    try:
        yield launched
    finally:
        launched.close()


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    """A fresh phone-sized browser context (its own cookies)."""
    context = browser.new_context(**PHONE)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ipms_command() -> list[str]:
    """`ipms` as the module its entry point names, so the tree under test is what runs (an editable install
    made before a package gained its __init__.py would otherwise import a namespace package)."""
    return [sys.executable, "-m", "backend.cli"]


@dataclass
class Server:
    url: str
    port: int
    data_dir: Path
    process: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@pytest.fixture(scope="module")
def demo_server(chromium_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`ipms demo` into a fresh data directory, then `ipms serve` on a free port."""
    data_dir = tmp_path_factory.mktemp("browser-data")
    env = {k: v for k, v in os.environ.items() if not k.startswith("IPMS_")}
    env |= {"IPMS_DATA_DIR": str(data_dir), "IPMS_ENV": "development"}
    seeded = subprocess.run([*ipms_command(), "demo"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=300, check=False)
    assert seeded.returncode == 0, seeded.stderr
    port = free_port()
    log = data_dir / "server.log"
    with log.open("w") as sink:
        process = subprocess.Popen([*ipms_command(), "serve", "--port", str(port)], cwd=ROOT, env=env,
                                   stdout=sink, stderr=subprocess.STDOUT)
    server = Server(url=f"http://127.0.0.1:{port}", port=port, data_dir=data_dir, process=process, log=log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise AssertionError(f"ipms serve exited with {process.returncode}:\n{server.output()}")
            try:
                if httpx.get(f"{server.url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"ipms serve did not answer within {START_TIMEOUT} s:\n{server.output()}")
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# The screen tests' fixtures (a demo server's database view and signed-in phones in zh or en) build on the above.
from tests.browser.support import phones, served  # noqa: F401
