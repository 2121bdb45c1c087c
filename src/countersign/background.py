"""What every background loop of a server shares: waiting that a stop ends early."""

from __future__ import annotations

import asyncio
import contextlib


async def stopped_within(stop: asyncio.Event, seconds: float) -> bool:
    """Wait up to ``seconds``; whether ``stop`` is set. The loops check it between
    rounds instead of being cancelled, so a database call in progress always finishes
    (a cancelled one would abandon its connection in a worker thread)."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()
