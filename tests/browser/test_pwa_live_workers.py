"""Across workers: two `ipms serve` processes on one PostgreSQL database, live updates through Redis or through
PostgreSQL LISTEN/NOTIFY. A milestone completed through worker A appears on a screen connected to worker B."""

from __future__ import annotations

import asyncio
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from playwright.sync_api import expect

from tests.support.browser import Phone
from tests.support.databases import admin_execute, pg_admin_url, with_database
from tests.support.demo import ROOT, Server, ipms_command, server_env

pytestmark = pytest.mark.browser
LEGAL_MILESTONES = (
    "SELECT m.id::text, m.project::text FROM project_milestones m JOIN projects p ON p.id = m.project "
    "JOIN project_stages s ON s.id = m.stage JOIN users l ON l.id = m.owner JOIN users a ON a.id = p.owner "
    "WHERE l.username = 'zhangwei' AND a.username = 'lina' AND m.state = 'open' AND s.left_at IS NULL "
    "AND p.status = 'open' AND (m.auto IS NULL OR m.auto = '') ORDER BY m.id")


def run_apart(work: Any) -> Any:
    """Call `work()` (which may use asyncio.run) in a thread: Playwright's sync API holds this thread's loop."""
    result: list[Any] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            result.append(work())
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return result[0]


class Worker(Server):
    """`ipms serve` with the shared database and live backend in its environment."""

    def __init__(self, data_dir: Path, extra: dict[str, str]) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        super().__init__(data_dir)
        self.extra = extra

    def spawn(self) -> None:
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen([*ipms_command(), "serve", "--port", str(self.port)], cwd=ROOT,
                                            env=server_env(self.data_dir) | self.extra, stdout=sink,
                                            stderr=subprocess.STDOUT)


@pytest.fixture(scope="module")
def shared_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL database holding the demo organisation (seeded by `ipms demo`)."""
    admin = run_apart(pg_admin_url)
    if admin is None:
        pytest.skip("PostgreSQL not reachable at 127.0.0.1:5432")
    name = f"ipms_live_{uuid.uuid4().hex[:8]}"
    run_apart(lambda: asyncio.run(admin_execute(admin, f'CREATE DATABASE "{name}"')))
    url = with_database(admin, name)
    seed_dir = tmp_path_factory.mktemp("live-seed")
    done = subprocess.run([*ipms_command(), "demo"], cwd=ROOT, env=server_env(seed_dir) | {"IPMS_DATABASE_URL": url},
                          capture_output=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    yield url
    run_apart(lambda: asyncio.run(admin_execute(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')))


def open_milestones(url: str) -> list[tuple[str, str]]:
    async def read() -> list[tuple[str, str]]:
        connection = await asyncpg.connect(url)
        try:
            return [(row[0], row[1]) for row in await connection.fetch(LEGAL_MILESTONES)]
        finally:
            await connection.close()

    return run_apart(lambda: asyncio.run(read()))


@pytest.mark.parametrize(("backend", "lang"), [("redis", "zh"), ("postgres", "en")])
def test_a_change_through_worker_a_appears_on_a_screen_of_worker_b(browser: Any, shared_database: str,
                                                                   tmp_path: Path, backend: str, lang: str) -> None:
    extra = {"IPMS_DATABASE_URL": shared_database, "IPMS_LIVE_BACKEND": backend,
             "IPMS_REDIS_URL": "redis://127.0.0.1:6379/0", "IPMS_CLOCK_ENABLED": "false"}
    worker_a, worker_b = Worker(tmp_path / "a", extra), Worker(tmp_path / "b", extra)
    worker_a.spawn()
    worker_b.spawn()
    phones: list[Phone] = []
    try:
        worker_a.ready()
        worker_b.ready()
        milestone, project = open_milestones(shared_database)[0]
        agent, legal = Phone(browser, worker_b, lang), Phone(browser, worker_a, lang)
        phones += [agent, legal]
        agent.sign_in("lina")
        watching = agent.open(f"/projects/{project}")
        row = watching.locator(f"#milestones li[data-id='{milestone}']")
        expect(row).to_have_attribute("data-state", "open")
        legal.sign_in("zhangwei")
        acting = legal.open(f"/projects/{project}")
        acting.click(f"#milestones li[data-id='{milestone}'] [data-action=toggle]")
        expect(acting.locator(f"#milestones li[data-id='{milestone}']")).to_have_attribute("data-state", "done")
        expect(row).to_have_attribute("data-state", "done")  # on worker B's screen
        agent.screenshot(f"live-two-workers-{backend}-{lang}")
        assert not agent.errors and not legal.errors
    finally:
        for phone in phones:
            phone.close()
        worker_a.stop()
        worker_b.stop()
