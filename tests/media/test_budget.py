"""The decoding memory budget: reservations wait until they fit, in arrival order, and never exceed the total."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from media.budget import MemoryBudget

WAIT = 10.0  # seconds a test waits for another thread to reach a state before it fails


def _until(condition: Callable[[], bool]) -> None:
    """Wait for another thread to get somewhere (synchronisation, not business time)."""
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "the other thread never got there"
        time.sleep(0.001)


def _holder(budget: MemoryBudget, nbytes: int, order: list[str], name: str) -> tuple[threading.Thread, threading.Event]:
    """A thread that reserves ``nbytes``, notes its name, and holds them until the returned event is set."""
    release = threading.Event()

    def hold() -> None:
        with budget.reserve(nbytes):
            order.append(name)
            release.wait(WAIT)

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    return thread, release


def test_budget_reserve_within_total_returns_at_once() -> None:
    budget = MemoryBudget(100)
    with budget.reserve(60), budget.reserve(40):
        assert budget.in_use == 100
    assert budget.in_use == 0
    assert budget.peak == 100


def test_budget_reserve_above_total_refused_at_once() -> None:
    budget = MemoryBudget(100)
    with pytest.raises(ValueError, match="never fit"), budget.reserve(101):
        pass
    assert budget.in_use == 0 and budget.waiting == 0


def test_budget_reserve_waits_until_enough_is_released() -> None:
    budget, order = MemoryBudget(100), []
    first, release_first = _holder(budget, 70, order, "first")
    _until(lambda: order == ["first"])
    second, release_second = _holder(budget, 50, order, "second")
    _until(lambda: budget.waiting == 1)

    assert order == ["first"] and budget.in_use == 70  # 70 + 50 would not fit
    release_first.set()
    _until(lambda: order == ["first", "second"])
    release_second.set()
    first.join(WAIT), second.join(WAIT)
    assert budget.peak == 70 and budget.in_use == 0


def test_budget_waiters_served_in_arrival_order() -> None:
    # 'large' arrives before 'small': 'small' would fit at once beside 'base', but must not overtake.
    budget, order = MemoryBudget(100), []
    base, release_base = _holder(budget, 60, order, "base")
    _until(lambda: order == ["base"])
    large, release_large = _holder(budget, 90, order, "large")
    _until(lambda: budget.waiting == 1)
    small, release_small = _holder(budget, 30, order, "small")
    _until(lambda: budget.waiting == 2)

    assert order == ["base"]
    release_base.set()
    _until(lambda: order == ["base", "large"])
    assert budget.waiting == 1  # 90 + 30 > 100: small still waits
    release_large.set()
    _until(lambda: order == ["base", "large", "small"])
    release_small.set()
    for thread in (base, large, small):
        thread.join(WAIT)
    assert budget.peak == 90 and budget.in_use == 0


def test_budget_released_after_exception() -> None:
    budget = MemoryBudget(100)
    with pytest.raises(RuntimeError), budget.reserve(80):
        raise RuntimeError("decode failed")
    with budget.reserve(100):
        assert budget.in_use == 100


def test_budget_many_threads_never_exceed_total() -> None:
    budget, lock, seen = MemoryBudget(1000), threading.Lock(), []
    in_flight = [0]

    def work(nbytes: int) -> None:
        with budget.reserve(nbytes):
            with lock:
                in_flight[0] += nbytes
                seen.append(in_flight[0])
            time.sleep(0.001)
            with lock:
                in_flight[0] -= nbytes

    threads = [threading.Thread(target=work, args=(100 + 37 * (i % 20),)) for i in range(60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)

    assert len(seen) == 60
    assert max(seen) <= 1000 and budget.peak <= 1000 and budget.in_use == 0


def test_budget_must_be_positive() -> None:
    with pytest.raises(ValueError):
        MemoryBudget(0)
