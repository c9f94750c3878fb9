"""`ipms push test --user NAME`, run as an operator would (a subprocess), against a push-service stand-in."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from notifications.push.keys import load_or_create_keys
from tests.support.push_service import PushServiceStandIn

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def in_thread(work: Callable[[], Awaitable[T]]) -> T:
    """asyncio.run in a thread of its own (a browser test in the same session may own this thread's loop)."""
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["value"] = asyncio.run(work())  # type: ignore[arg-type]
        except BaseException as exc:
            result["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=120)
    if "error" in result:
        raise result["error"]
    return result["value"]


class BackgroundStandIn:
    """The stand-in served from its own thread and loop while a subprocess pushes to it."""

    def __init__(self, service: PushServiceStandIn) -> None:
        self.service = service
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> PushServiceStandIn:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.service.start(), self.loop).result(timeout=30)
        return self.service

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.service.stop(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=30)
        self.loop.close()


def ipms(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IPMS_")}
    env |= {"IPMS_ENV": "test", "IPMS_DATA_DIR": str(data_dir), "IPMS_VAPID_SUBJECT": "ops@example.com"}
    return subprocess.run([sys.executable, "-m", "backend.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL, check=False)


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "data"


def test_push_test_command_delivers_to_each_subscribed_device(data_dir: Path) -> None:
    keys = load_or_create_keys(data_dir)  # the command reuses the data directory's key file
    service = PushServiceStandIn(keys.application_server_key)
    phone = service.browser("phone")

    async def seed() -> None:
        from backend import db
        from backend.migrate import migrate
        from backend.settings import Settings
        from tests.support.factories import make_org
        from tests.support.notifications import subscribe

        engine = db.engine_for(Settings(env="test", data_dir=data_dir))
        db.bind(engine)
        await db.start(engine)
        try:
            await migrate()
            org = await make_org()
            await subscribe(org.a.users["branch_manager"], phone, label="Pixel 8 Chrome")
        finally:
            await db.stop(engine)

    in_thread(seed)
    with BackgroundStandIn(service):
        sent = ipms(data_dir, "push", "test", "--user", "A_BM")
        nobody = ipms(data_dir, "push", "test", "--user", "a_agent1")
        unknown = ipms(data_dir, "push", "test", "--user", "ghost")
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.strip() == "Pixel 8 Chrome: sent"
    [got] = service.delivered("phone")
    assert got.message["kind"] == "test" and got.message["url"] == "/settings" and got.message["title"]
    assert not service.problems, service.problems
    assert nobody.returncode == 1 and "no device" in nobody.stdout
    assert unknown.returncode == 2 and "ghost" in unknown.stderr
