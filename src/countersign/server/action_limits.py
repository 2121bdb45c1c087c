"""How often a widget may call custom actions: per browser and per (app, client IP).

Each call costs the customer's API a request, so a script in a browser must not turn
Countersign into a load generator. A session alone is not a sufficient key: anyone can
open new anonymous browsers, hence the per-address window too. Both are sliding
windows of call times (the identify limiter's, counting calls instead of failures).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .limit_counts import Counts, LocalCounts
from .ratelimit import FailureLimiter, Limit, per_address

PER_SESSION = Limit(failures=30, window_seconds=60)
PER_IP = Limit(failures=120, window_seconds=60)


class ActionLimits:
    def __init__(
        self,
        per_session: Limit = PER_SESSION,
        per_ip: Limit = PER_IP,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int | None = None,
        counts: Counts | None = None,
    ) -> None:
        self.counts: Counts = counts or LocalCounts()
        self.by_session = FailureLimiter(per_session, clock, max_keys, name="actions.browser")
        self.by_ip = FailureLimiter(per_ip, clock, max_keys, name="actions.address")

    async def take(self, app_id: str, browser_id: str, ip: str) -> int | None:
        """Count one call and return ``None``, or the seconds to wait (nothing counted)."""
        entries = [
            (self.by_session, f"{app_id}\0{browser_id}"),
            (self.by_ip, per_address(app_id, ip)),
        ]
        return (await self.counts.take(entries)).wait
