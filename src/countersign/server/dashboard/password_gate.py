"""A bound on the argon2 computations one server process runs at once.

An argon2id check (or hash) holds its whole memory cost, 64 MiB at the profile
:mod:`.passwords` uses, for as long as it runs in its worker thread. Unbounded, a burst
of 100 wrong passwords ran as many at once as the thread pool allowed: the server grew
to 2.4 GiB resident and ``/healthz`` took 2 s. So at most ``slots`` run at once: no more
than the cores can compute (more only share the same cores, each holding its memory
longer) and no more than the memory budget holds (``COUNTERSIGN_PASSWORD_MEMORY_MIB``).
The others wait a short while for a turn (``COUNTERSIGN_PASSWORD_CHECK_WAIT_SECONDS``)
and are then refused with 429: under a flood a queue would only grow, and a person
logging in would rather be told to retry than wait a minute.

Every dashboard path that checks or hashes a password goes through here. The CLI does
not: each command is a process of its own that hashes one password.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable
from typing import Final, TypeVar

import anyio
import anyio.to_thread

from ...operators import passwords
from .errors import RateLimited

T = TypeVar("T")

MIB: Final = 1024 * 1024


def usable_cores() -> int:
    """The cores this process may run on (a container's CPU set, not the host's)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on every platform (macOS has no sched_getaffinity)
        return os.cpu_count() or 1


def concurrent_checks(budget_bytes: int, memory_cost_bytes: int, cores: int) -> int:
    """How many argon2 computations may run at once: at least one, however small the
    budget (a dashboard nobody can log in to is no safer)."""
    return max(1, min(cores, budget_bytes // max(1, memory_cost_bytes)))


class PasswordGate:
    """At most ``slots`` password checks and hashes at once; the others wait up to
    ``wait_seconds`` for a turn, then :class:`RateLimited`."""

    def __init__(self, slots: int, wait_seconds: float) -> None:
        self.slots = slots
        self.wait_seconds = wait_seconds
        self._free = anyio.Semaphore(slots)

    @classmethod
    def for_budget(cls, budget_bytes: int, wait_seconds: float) -> PasswordGate:
        """Slots for the current hasher's memory cost (argon2 counts it in KiB)."""
        cost = passwords.HASHER.memory_cost * 1024
        return cls(concurrent_checks(budget_bytes, cost, usable_cores()), wait_seconds)

    async def check(self, password_hash: str | None, password: str) -> bool:
        """:func:`.passwords.check_password` in a worker thread, in turn."""
        return await self._in_turn(passwords.check_password, password_hash, password)

    async def hash(self, password: str) -> str:
        """:func:`.passwords.hash_password` in a worker thread, in turn."""
        return await self._in_turn(passwords.hash_password, password)

    async def _in_turn(self, work: Callable[..., T], *args: object) -> T:
        await self._take_turn()
        try:
            # Not abandoned on cancellation (anyio's default): a client that leaves
            # mid-check does not free the slot while the thread still holds the memory.
            return await anyio.to_thread.run_sync(work, *args)
        finally:
            self._free.release()

    async def _take_turn(self) -> None:
        with contextlib.suppress(anyio.WouldBlock):
            self._free.acquire_nowait()
            return
        with anyio.move_on_after(self.wait_seconds):
            await self._free.acquire()
            return
        raise RateLimited(
            "The server is busy checking other passwords. Try again in a few seconds.",
            retry_after=max(1, math.ceil(self.wait_seconds)),
        )
