"""What identify limits before it verifies anything (sliding windows of
:mod:`countersign.server.ratelimit`): failed proofs per address and per identifier, and
new unverified visitors, with the conversations they start, per address."""

from __future__ import annotations

import time
from collections.abc import Callable

from ..limit_counts import Counts, LocalCounts, Taken
from ..ratelimit import FailureLimiter, Limit, per_address

FAILURES_PER_IP = Limit(failures=30, window_seconds=300)
FAILURES_PER_IDENTIFIER = Limit(failures=10, window_seconds=300)
UPLOADS_PER_MINUTE = 30


class IdentifyLimits:
    """The limits identify checks before it verifies anything: failures per address and
    per identifier, and new unverified visitors (and their conversations) per address.

    Each is checked and counted in one step (``counts``: this process's windows, or
    Redis' for every worker and node), so a burst in flight cannot all pass."""

    def __init__(
        self,
        per_ip: Limit = FAILURES_PER_IP,
        per_identifier: Limit = FAILURES_PER_IDENTIFIER,
        clock: Callable[[], float] = time.monotonic,
        anonymous_per_minute: int = 30,
        max_keys: int | None = None,
        counts: Counts | None = None,
    ) -> None:
        self.counts: Counts = counts or LocalCounts()
        self.by_ip = FailureLimiter(per_ip, clock, max_keys, name="identify.address")
        self.by_identifier = FailureLimiter(
            per_identifier, clock, max_keys, name="identify.identifier"
        )
        per_minute = Limit(anonymous_per_minute, 60.0)
        self.new_visitors = FailureLimiter(per_minute, clock, max_keys, name="identify.visitors")
        self.conversation_starts = FailureLimiter(
            per_minute, clock, max_keys, name="widget.conversation_starts"
        )
        # Uploads fill the database: a contact (or an anonymous address) gets a
        # minute's worth of screenshots, not an endless stream of 10 MB files.
        self.uploads = FailureLimiter(
            Limit(UPLOADS_PER_MINUTE, 60.0), clock, max_keys, name="widget.uploads"
        )

    async def take_failure(self, app_id: str, ip: str, identifier: str | None) -> int | None:
        """Count a failed proof against the address (and the identifier) and return
        ``None``, or the seconds to wait when either is spent (nothing counted)."""
        entries = [(self.by_ip, per_address(app_id, ip))]
        if identifier is not None:
            entries.append((self.by_identifier, f"{app_id}\0{identifier}"))
        return (await self.counts.take(entries)).wait

    async def take_new_visitor(self, key: str) -> Taken:
        return await self.counts.take([(self.new_visitors, key)])

    async def new_visitor_wait(self, key: str) -> int:
        return await self.counts.wait([(self.new_visitors, key)]) or 1

    async def take_conversation_start(self, key: str) -> int | None:
        return (await self.counts.take([(self.conversation_starts, key)])).wait

    async def take_upload(self, key: str) -> int | None:
        return (await self.counts.take([(self.uploads, key)])).wait

    async def give_back(self, taken: Taken) -> None:
        await self.counts.release(taken)
