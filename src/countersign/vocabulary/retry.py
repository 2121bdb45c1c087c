"""When to try a failed delivery (a webhook, an email) again, and when to give up.

Exponential backoff with jitter: retry ``n`` waits between half and all of
``base * 2**(n-1)`` seconds, capped. The jitter spreads the retries of many deliveries
that failed together (an endpoint's outage), so they do not return as one burst.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    base_seconds: float = 10.0
    cap_seconds: float = 3600.0
    max_attempts: int = 25
    max_age: timedelta = timedelta(hours=72)

    def delay(self, attempt: int, rng: Callable[[], float] = random.random) -> timedelta:
        """How long after failed attempt ``attempt`` (1-based) to try again."""
        # min() before the power would overflow a float for a large attempt number.
        exponent = min(attempt - 1, 64)
        ceiling = min(self.cap_seconds, self.base_seconds * 2.0**exponent)
        return timedelta(seconds=ceiling * (0.5 + rng() / 2))

    def retry_at(
        self,
        attempt: int,
        event_created_at: datetime,
        now: datetime,
        rng: Callable[[], float] = random.random,
    ) -> datetime | None:
        """When to make attempt ``attempt + 1``, or ``None``: the delivery is dead."""
        if attempt >= self.max_attempts:
            return None
        at = now + self.delay(attempt, rng)
        if at - event_created_at > self.max_age:
            return None
        return at
