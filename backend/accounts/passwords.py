"""Password hashing: argon2id at OWASP's minimum parameters, off the event loop in a pool of two threads.

argon2-cffi's defaults (t = 3, m = 64 MiB, p = 4) cost ≈ 230 ms of CPU per verification on this machine and ran on
the event loop, so six sign-ins stalled every other request of the worker by over a second. OWASP's minimum
(m = 19 MiB, t = 2, p = 1) costs ≈ 20 ms; run in threads (the C code releases the GIL) the loop stays free, and two
threads bound the CPU and memory sign-ins can take however many arrive at once. Hashes made with other parameters
are replaced at the owner's next successful sign-in.
"""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)  # argon2id (the library's default type)
POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="argon2")


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the username is unknown, so both paths cost the same (made on first use)."""
    return HASHER.hash("not-a-real-password")


def hash_password(password: str) -> str:
    """Blocking: for the CLI, the demo seed and tests. Request handlers use `hash_in_pool`."""
    return HASHER.hash(password)


def _verify(stored: str | None, password: str) -> bool:
    try:
        return HASHER.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Made with other parameters than today's (cheap: reads the hash's header, so it runs on the loop)."""
    try:
        return HASHER.check_needs_rehash(stored)
    except InvalidHashError:
        return False


T = TypeVar("T")


async def _in_pool(function: functools.partial[T]) -> T:
    return await asyncio.get_running_loop().run_in_executor(POOL, function)


async def hash_in_pool(password: str) -> str:
    return await _in_pool(functools.partial(hash_password, password))


async def verify_in_pool(stored: str | None, password: str) -> bool:
    """True when `password` matches `stored`; `None` (unknown user) costs a verification too and is False."""
    return await _in_pool(functools.partial(_verify, stored, password))

