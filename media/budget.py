"""A process-wide allowance of memory for decoding images, shared by every thread that ingests.

Each decode reserves its estimated peak (``media.ingest.estimate``) before it touches a pixel and gives it back
when it is done, so the pixel buffers of all decodes in flight together stay within ``total`` bytes whatever
the number of uploads or CPUs. Waiters are served strictly in arrival order: a large photo is never starved by
a stream of small ones (a small one behind it waits, at most as long as the large one takes).

Freed pixel buffers must also leave the process, or the next decode adds to what the last one left behind:
creating a budget fixes glibc's mmap threshold (``return_freed_memory_promptly``).
"""

from __future__ import annotations

import collections
import ctypes
import functools
import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter


@functools.cache
def return_freed_memory_promptly(threshold: int = 1024 * 1024) -> bool:
    """Have glibc serve every allocation of ``threshold`` bytes or more from its own mapping, unmapped when freed.

    By default glibc raises that threshold after the first large free (up to 32 MB), so later decode buffers come
    from the threads' arenas, whose freed middles stay resident: four of the largest photos at once through the
    app peaked about 60 MB higher that way. Setting the threshold disables the adjustment. False without glibc.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, threshold))


class MemoryBudget:
    """``reserve(n)`` blocks until ``n`` bytes fit beside what is already reserved; a request above ``total``
    can never fit and raises ``ValueError`` at once (the caller refuses such an image before asking)."""

    def __init__(self, total: int) -> None:
        if total <= 0:
            raise ValueError("the memory budget must be positive")
        return_freed_memory_promptly()
        self._total = total
        self._in_use = 0
        self._peak = 0
        self._tickets = itertools.count()
        self._queue: collections.deque[int] = collections.deque()
        self._changed = threading.Condition()

    @property
    def total(self) -> int:
        return self._total

    @property
    def in_use(self) -> int:
        """Bytes reserved right now."""
        with self._changed:
            return self._in_use

    @property
    def peak(self) -> int:
        """The most bytes ever reserved at once (what the budget actually allowed)."""
        with self._changed:
            return self._peak

    @property
    def waiting(self) -> int:
        """Requests queued for their turn."""
        with self._changed:
            return len(self._queue)

    @contextmanager
    def reserve(self, nbytes: int) -> Iterator[None]:
        """Hold ``nbytes`` of the budget for the ``with`` block, waiting (first come, first served) until they fit."""
        if nbytes > self._total:
            raise ValueError(f"{nbytes} bytes can never fit in a budget of {self._total}")
        nbytes = max(0, nbytes)
        with self._changed:
            ticket = next(self._tickets)
            self._queue.append(ticket)
            try:
                self._changed.wait_for(lambda: self._queue[0] == ticket and self._in_use + nbytes <= self._total)
            finally:
                self._queue.remove(ticket)
                self._changed.notify_all()  # the next in line may fit now, or its turn has come
            self._in_use += nbytes
            self._peak = max(self._peak, self._in_use)
        try:
            yield
        finally:
            with self._changed:
                self._in_use -= nbytes
                self._changed.notify_all()
