"""What identify limits before it verifies anything (sliding windows of
:mod:`countersign.server.ratelimit`): failed proofs per address and per identifier, and
new unverified visitors, with the conversations they start, per address."""

from __future__ import annotations

import time
from collections.abc import Callable

from ..ratelimit import FailureLimiter, Limit

FAILURES_PER_IP = Limit(failures=30, window_seconds=300)
FAILURES_PER_IDENTIFIER = Limit(failures=10, window_seconds=300)


class IdentifyLimits:
    """The limits identify checks before it verifies anything: failures per address and
    per identifier, and new unverified visitors (and their conversations) per address."""

    def __init__(
        self,
        per_ip: Limit = FAILURES_PER_IP,
        per_identifier: Limit = FAILURES_PER_IDENTIFIER,
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
