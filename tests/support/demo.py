"""The demo organisation for browser tests: `ipms demo` seeded once per session into a template data directory
(in the background from the end of collection on), copied per module, and served there by `ipms serve` as a
subprocess — the real server, and no module sees another's writes. The next server starts while the module
before it runs.
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.browser import missing_browser

ROOT = Path(__file__).resolve().parents[2]
DATABASE = "ipms.sqlite3"
START_TIMEOUT = 90  # seconds: an upper bound while waiting for the server to answer, not a delay
DEMO_SERVERS = pytest.StashKey[int]()  # how many the session will take


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ipms_command() -> list[str]:
    """`ipms` as the module its entry point names, so the tree under test is what runs (an editable install
    made before a package gained its __init__.py would otherwise import a namespace package)."""
    return [sys.executable, "-m", "backend.cli"]


class Server:
    """`ipms serve` on a port of its own over one data directory; it can be stopped and started again there."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir, self.port = data_dir, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    def spawn(self) -> None:
        """Start the process without waiting for it (see `ready`)."""
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen([*ipms_command(), "serve", "--port", str(self.port)], cwd=ROOT,
                                            env=server_env(self.data_dir), stdout=sink, stderr=subprocess.STDOUT)

    def ready(self) -> None:
        """Wait until the server answers (an upper bound, not a delay)."""
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"ipms serve exited with {self.process.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"ipms serve did not answer within {START_TIMEOUT} s:\n{self.output()}")
            time.sleep(0.1)

    def start(self) -> None:
        self.spawn()
        self.ready()

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    @property
    def base(self) -> str:
        return self.url

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def db(self) -> sqlite3.Connection:
        """Read-only look at the served database, to state what a screen must show."""
        connection = sqlite3.connect(f"file:{self.data_dir / DATABASE}?mode=ro", uri=True, timeout=30)
        connection.row_factory = sqlite3.Row
        return connection

    def user_id(self, username: str) -> str:
        with closing(self.db()) as connection:
            return connection.execute("SELECT id FROM users WHERE username = ?", (username,)).fetchone()[0]


def server_env(data_dir: Path) -> dict[str, str]:
    """The environment of an `ipms` subprocess on `data_dir` (none of this process's IPMS_* settings leak in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IPMS_")}
    return env | {"IPMS_DATA_DIR": str(data_dir), "IPMS_ENV": "development"}


class Seeding:
    """`ipms demo` into a template data directory, running in the background from the end of collection on."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir, self.log = data_dir, data_dir / "demo.log"
        with self.log.open("wb") as sink:
            self.process = subprocess.Popen([*ipms_command(), "demo"], cwd=ROOT, env=server_env(data_dir),
                                            stdout=sink, stderr=subprocess.STDOUT)

    def wait(self) -> Path:
        self.process.wait(timeout=300)
        assert self.process.returncode == 0, self.log.read_text(errors="replace")[-4000:]
        return self.data_dir


SEEDING = pytest.StashKey[Seeding]()


@pytest.fixture(scope="session")
def demo_template(chromium_path: str, tmp_path_factory: pytest.TempPathFactory,
                  request: pytest.FixtureRequest) -> Path:
    """The demo organisation, seeded once per session; each module serves a copy of it."""
    seeding = request.config.stash.get(SEEDING, None) or Seeding(tmp_path_factory.mktemp("demo-template"))
    return seeding.wait()


def copy_demo(template: Path, data_dir: Path) -> Path:
    """A private copy of the template's data: the database through SQLite's backup API (consistent whatever
    sits in its WAL), the rest (media, generated keys) file by file."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(template / DATABASE)) as source, closing(sqlite3.connect(data_dir / DATABASE)) as copy:
        source.backup(copy)
    for item in template.iterdir():
        if item.name.startswith(DATABASE) or item.suffix == ".log":
            continue
        if item.is_dir():
            shutil.copytree(item, data_dir / item.name)
        else:
            shutil.copy2(item, data_dir / item.name)
    return data_dir


class DemoServers:
    """Servers over private copies of the session's demo data. The next module's server starts while the current
    module runs, so a module seldom waits for one."""

    def __init__(self, template: Path, tmp_path_factory: pytest.TempPathFactory, wanted: int) -> None:
        self.template, self.tmp_path_factory, self.wanted = template, tmp_path_factory, wanted
        self.spare: Server | None = None

    def _spawn(self) -> Server:
        server = Server(copy_demo(self.template, self.tmp_path_factory.mktemp("browser-data")))
        server.spawn()
        return server

    def take(self) -> Server:
        server, self.spare = self.spare or self._spawn(), None
        self.wanted -= 1
        server.ready()
        if self.wanted > 0:
            self.spare = self._spawn()
        return server

    def close(self) -> None:
        if self.spare is not None:
            self.spare.stop()


@pytest.fixture(scope="session")
def demo_servers(browser: Any, demo_template: Path, tmp_path_factory: pytest.TempPathFactory,
                 request: pytest.FixtureRequest) -> Iterator[DemoServers]:
    """`browser` comes first so that Chromium starts while the demo is still being seeded in the background."""
    pool = DemoServers(demo_template, tmp_path_factory, request.config.stash.get(DEMO_SERVERS, 1))
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture(scope="module")
def demo_server(demo_servers: DemoServers) -> Iterator[Server]:
    """`ipms serve` over this module's own copy of the session's demo data: no module sees another's writes."""
    server = demo_servers.take()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def served(demo_server: Server) -> Server:
    """The module's demo server, for the screen tests (`served.base`, `served.db()`, `served.user_id(...)`)."""
    return demo_server


@pytest.fixture
def own_server(demo_servers: DemoServers) -> Iterator[Server]:
    """A demo server of this test's own, which it may stop and start again (same port, same data)."""
    server = demo_servers.take()
    try:
        yield server
    finally:
        server.stop()


def pytest_collection_finish(session: pytest.Session) -> None:
    """How many demo servers the session will ask for (one per module, one per test taking its own), so that
    none is started ahead for nobody."""
    takers: set[str] = set()
    for item in session.items:
        fixtures = getattr(item, "fixturenames", ())
        if "demo_server" in fixtures:
            takers.add(item.nodeid.split("::")[0])
        if "own_server" in fixtures:
            takers.add(item.nodeid)
    session.config.stash[DEMO_SERVERS] = len(takers)
    if takers and not session.config.option.collectonly and missing_browser() is None:
        session.config.stash[SEEDING] = Seeding(session.config._tmp_path_factory.mktemp("demo-template"))


def pytest_sessionfinish(session: pytest.Session) -> None:
    seeding = session.config.stash.get(SEEDING, None)
    if seeding is not None and seeding.process.poll() is None:  # the session ended before a browser test ran
        seeding.process.kill()
        seeding.process.wait()

