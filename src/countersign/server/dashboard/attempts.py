"""Limits on password guesses, counted before the password is checked.

A guess is counted per (account, client address), with a small budget, and per account
over every address, with a larger one; the login adds the existing per-address budget
over every account. Keyed so, a guesser at one address exhausts only their own budget
for the account: the owner logging in from anywhere else still gets in, while guessing
from many addresses is bounded by the per-account budget.

An attempt is counted when it starts, before the argon2 check, and the count is given
back only when the password turns out right. Checking the budgets and counting happen
in one turn of the event loop, with no ``await`` between, so a burst of concurrent
guesses cannot all pass the check while the first are still being hashed: of 40 at once
for one account from one address, 5 are checked and 35 refused with 429 straight away.

The counts live in this process (with several nodes each keeps its own, which
multiplies a guesser's budget by the node count and no more), each key in a
:class:`~countersign.server.ratelimit.FailureLimiter`, which caps how many keys it keeps.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from time import monotonic

from ..ratelimit import FailureLimiter, Limit
from .errors import RateLimited


@dataclass(frozen=True)
class AttemptLimits:
    per_account_and_address: Limit
    per_account: Limit
    per_address: Limit | None = None  # over every account


class Attempt:
    """One guess in progress; counted as a failure unless it ends without
    :meth:`failed` having been called (the password was right, or it was never
    checked because something else went wrong first)."""

    def __init__(self) -> None:
        self.counted = False

    def failed(self) -> None:
        """The password was wrong: the guess stays counted."""
        self.counted = True


class PasswordAttempts:
    def __init__(
        self, limits: AttemptLimits, refusal: str, clock: Callable[[], float] = monotonic
    ) -> None:
        self._refusal = refusal
        self._pair = FailureLimiter(limits.per_account_and_address, clock)
        self._account = FailureLimiter(limits.per_account, clock)
        self._address = FailureLimiter(limits.per_address, clock) if limits.per_address else None

    def _keys(self, account: str, address: str) -> list[tuple[FailureLimiter, str]]:
        keys = [(self._pair, f"{account}\0{address}"), (self._account, account)]
        if self._address is not None:
            keys.append((self._address, address))
        return keys

    @contextlib.contextmanager
    def attempt(self, account: str, address: str) -> Iterator[Attempt]:
        """Count a guess at ``account``'s password from ``address`` for the length of
        the block; raises :class:`RateLimited` (before anything is checked) when a
        budget is spent. Synchronous on purpose: see the module's docstring."""
        keys = self._keys(account, address)
        waits = [wait for limiter, key in keys if (wait := limiter.retry_after(key)) is not None]
        if waits:
            raise RateLimited(self._refusal, retry_after=max(waits))
        held = [(limiter, key, limiter.fail(key)) for limiter, key in keys]
        attempt = Attempt()
        try:
            yield attempt
        finally:
            if not attempt.counted:
                for limiter, key, stamp in held:
                    limiter.release(key, stamp)
