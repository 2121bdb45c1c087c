"""Limits on failed identify attempts, per (app, client IP) and per (app, identifier).

A sliding window of failure times per key. Only failures count, so a product's real
users never meet it; an attacker guessing hashes for one user, or spraying many users
from one address, gets 429 with Retry-After once over the limit.
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
    ) -> None:
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


class IdentifyLimits:
    """The limits identify checks before it verifies anything: failures per address and
    per identifier, and new unverified visitors (and their conversations) per address."""

    def __init__(
        self,
        per_ip: Limit = Limit(failures=30, window_seconds=300),
        per_identifier: Limit = Limit(failures=10, window_seconds=300),
        clock: Callable[[], float] = time.monotonic,
        anonymous_per_minute: int = 30,
        max_keys: int | None = None,
    ) -> None:
        self.by_ip = FailureLimiter(per_ip, clock, max_keys)
        self.by_identifier = FailureLimiter(per_identifier, clock, max_keys)
        self.new_visitors = FailureLimiter(Limit(anonymous_per_minute, 60.0), clock, max_keys)
        self.conversation_starts = FailureLimiter(
            Limit(anonymous_per_minute, 60.0), clock, max_keys
        )

    def retry_after(self, app_id: str, ip: str, identifier: str | None) -> int | None:
        waits = [self.by_ip.retry_after(f"{app_id}\0{ip}")]
        if identifier is not None:
            waits.append(self.by_identifier.retry_after(f"{app_id}\0{identifier}"))
        known = [wait for wait in waits if wait is not None]
        return max(known) if known else None

    def fail(self, app_id: str, ip: str, identifier: str | None) -> None:
        self.by_ip.fail(f"{app_id}\0{ip}")
        if identifier is not None:
            self.by_identifier.fail(f"{app_id}\0{identifier}")
