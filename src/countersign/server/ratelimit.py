"""A sliding-window limiter: the times of what counted, per key, in bounded memory.

Identify's limits (``identify/limits.py``), the custom actions' and the dashboard's
password guesses all count with it, through :mod:`.limit_counts` (which keeps the
windows in Redis instead when the server has one). Failures (or attempts) are counted;
a key over its limit gets the seconds to wait, answered as 429 with Retry-After.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

_MAX_KEYS: Final = 100_000  # the default of COUNTERSIGN_RATE_LIMIT_KEYS


def per_address(app_id: str, address: str) -> str:
    """The key of what one client address does to one app."""
    return f"{app_id}\0{address}"


@dataclass(frozen=True, slots=True)
class Limit:
    failures: int
    window_seconds: float


class FailureLimiter:
    """Failure windows by key, for at most ``max_keys`` keys (about 1 KiB each).

    The keys are what callers send (an identifier, an address), so their number is
    bounded: the dict is kept in order of last failure, and past ``max_keys`` the
    expired windows go, then the least recently failed half.
    """

    def __init__(
        self,
        limit: Limit,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int | None = None,
        name: str = "",
    ) -> None:
        self.name = name  # its namespace where the counts are shared (limit_counts.py)
        self.limit = limit
        self._limit = limit
        self._clock = clock
        self._max_keys = _MAX_KEYS if max_keys is None else max_keys
        self._failures: dict[str, deque[float]] = {}

    def retry_after(self, key: str) -> int | None:
        """Seconds until ``key`` may try again, or ``None`` if it may now."""
        window = self._failures.get(key)
        if window is None:
            return None
        now = self._clock()
        horizon = now - self._limit.window_seconds
        while window and window[0] <= horizon:
            window.popleft()
        if not window:
            del self._failures[key]
            return None
        if len(window) < self._limit.failures:
            return None
        return max(1, math.ceil(window[0] - horizon))

    def fail(self, key: str) -> float:
        """Count a failure of ``key`` now; returns its time, for :meth:`release`."""
        window = self._failures.pop(key, None)  # re-inserted last: most recently failed
        if window is None:
            if len(self._failures) >= self._max_keys:
                self._evict()
            window = deque()
        self._failures[key] = window
        now = self._clock()
        window.append(now)
        if len(window) > self._limit.failures:
            window.popleft()
        return now

    def release(self, key: str, stamp: float) -> None:
        """Forget the failure :meth:`fail` counted at ``stamp`` (an attempt counted
        before its outcome was known, which turned out a success)."""
        window = self._failures.get(key)
        if window is None:
            return  # evicted, or already out of the window
        with contextlib.suppress(ValueError):
            window.remove(stamp)
        if not window:
            del self._failures[key]

    def reserve(self, key: str) -> float | None:
        """Count one now and return its time (for :meth:`release`), or ``None`` when
        ``key`` is over its limit (nothing counted). Check and count in one step."""
        return self.fail(key) if self.retry_after(key) is None else None

    def take(self, key: str) -> int | None:
        """Count one now and return ``None``, or the seconds to wait (nothing counted).
        Check and count in one step, so a burst in flight cannot all pass the check."""
        wait = self.retry_after(key)
        if wait is None:
            self.fail(key)
        return wait

    def _evict(self) -> None:
        # Under a spray of distinct keys, forget the quietest half rather than grow.
        horizon = self._clock() - self._limit.window_seconds
        for key in [key for key, window in self._failures.items() if window[-1] <= horizon]:
            del self._failures[key]
        if len(self._failures) >= self._max_keys:
            for key in list(self._failures)[: self._max_keys // 2]:
                del self._failures[key]
