"""Session rules for every test: the test environment, and no skips under CI (PostgreSQL and Chromium are there,
so a skip would hide a failure)."""

from __future__ import annotations

import faulthandler
import os
import sys
from collections.abc import Iterator

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("IPMS_ENV", "test")


def pytest_unconfigure(config: pytest.Config) -> None:
    """A process that lingers after pytest is done (a thread or server left running) would hold CI until its time
    runs out: past EXIT_GRACE seconds print every thread's stack and exit non-zero, so the cause is named."""
    faulthandler.dump_traceback_later(EXIT_GRACE, exit=True, file=sys.stderr)


EXIT_GRACE = 120


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI, which counts as a failure: {report.longrepr}"


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"
