"""At most one typing signal per second per sender (SPEC 11), on this node.

A sender is a contact or an operator in one conversation. A signal past the limit is a
quiet no-op (``{"sent": false}``), not a 429: a reply box sends one as the user types,
and a refusal is nothing the user could act on. The memory is bounded (an LRU of
senders): a flood of distinct senders forgets the oldest, which at worst lets one of
them send a second signal early.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

from .lru import LRU

INTERVAL_SECONDS: Final = 1.0
SENDERS: Final = 50_000


class TypingLimit:
    def __init__(
        self, interval: float = INTERVAL_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._interval = interval
        self._clock = clock
        self._last: LRU[tuple[str, str], float] = LRU(SENDERS)

    def take(self, sender: str, conversation_id: str) -> bool:
        """Whether this sender may signal now (and, if so, the second starts now)."""
        now = self._clock()
        key = (sender, conversation_id)
        last = self._last.get(key)
        if last is not None and now - last < self._interval:
            return False
        self._last.put(key, now)
        return True
