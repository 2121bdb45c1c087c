"""Limits on password guesses, counted before the password is checked.

A guess is counted per (account, client address), with a small budget, and per account
over every address, with a larger one; the login adds the existing per-address budget
over every account. Keyed so, a guesser at one address exhausts only their own budget
for the account: the owner logging in from anywhere else still gets in, while guessing
from many addresses is bounded by the per-account budget.

An attempt is counted when it starts, before the argon2 check, and the count is given
back only when the password turns out right. Checking the budgets and counting are one
step (:mod:`..limit_counts`: one turn of the event loop in this process, one Lua script
in Redis), so a burst of concurrent guesses cannot all pass the check while the first
are still being hashed: of 40 at once for one account from one address, 5 are checked
and 35 refused with 429 straight away, however many workers and nodes they reach when
the counts are in Redis.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from time import monotonic

from ..limit_counts import Counts, Entry, LocalCounts
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
        self,
        limits: AttemptLimits,
        refusal: str,
        clock: Callable[[], float] = monotonic,
        *,
        name: str = "login",
        counts: Counts | None = None,
    ) -> None:
        self._refusal = refusal
        self._counts: Counts = counts or LocalCounts()
        prefix = f"dashboard.{name}"
        pair, account = limits.per_account_and_address, limits.per_account
        self._pair = FailureLimiter(pair, clock, name=f"{prefix}.account_address")
        self._account = FailureLimiter(account, clock, name=f"{prefix}.account")
        self._address = (
            FailureLimiter(limits.per_address, clock, name=f"{prefix}.address")
            if limits.per_address
            else None
        )

    def _keys(self, account: str, address: str) -> list[Entry]:
        keys = [(self._pair, f"{account}\0{address}"), (self._account, account)]
        if self._address is not None:
            keys.append((self._address, address))
        return keys

    @contextlib.asynccontextmanager
    async def attempt(self, account: str, address: str) -> AsyncIterator[Attempt]:
        """Count a guess at ``account``'s password from ``address`` for the length of
        the block; raises :class:`RateLimited` (before anything is checked) when a
        budget is spent. Checked and counted in one step: see the module's docstring."""
        taken = await self._counts.take(self._keys(account, address))
        if taken.wait is not None:
            raise RateLimited(self._refusal, retry_after=taken.wait)
        attempt = Attempt()
        try:
            yield attempt
        finally:
            if not attempt.counted:
                await self._counts.release(taken)
