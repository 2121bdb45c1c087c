"""How often a widget may call custom actions: per browser and per (app, client IP).

Each call costs the customer's API a request, so a script in a browser must not turn
Countersign into a load generator. A session alone is not a sufficient key: anyone can
open new anonymous browsers, hence the per-address window too. Both are sliding
windows of call times (the identify limiter's, counting calls instead of failures).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .ratelimit import FailureLimiter, Limit

PER_SESSION = Limit(failures=30, window_seconds=60)
PER_IP = Limit(failures=120, window_seconds=60)


class ActionLimits:
    def __init__(
        self,
        per_session: Limit = PER_SESSION,
        per_ip: Limit = PER_IP,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int | None = None,
    ) -> None:
        self.by_session = FailureLimiter(per_session, clock, max_keys)
        self.by_ip = FailureLimiter(per_ip, clock, max_keys)

    def take(self, app_id: str, browser_id: str, ip: str) -> int | None:
        """Count one call and return ``None``, or the seconds to wait (nothing counted)."""
        session_key, ip_key = f"{app_id}\0{browser_id}", f"{app_id}\0{ip}"
        waits = [self.by_session.retry_after(session_key), self.by_ip.retry_after(ip_key)]
        known = [wait for wait in waits if wait is not None]
        if known:
            return max(known)
        self.by_session.fail(session_key)
        self.by_ip.fail(ip_key)
        return None
