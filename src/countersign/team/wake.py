"""Snoozes that end by themselves: a loop on every node reopens the conversations
whose ``snoozed_until`` has come, and announces each as any other change.

Every node runs it (like the webhook worker); storage's claim (``UPDATE …
RETURNING``, ``SKIP LOCKED`` on PostgreSQL) makes exactly one node wake each
conversation. The first round runs at start, so a snooze that ended while the server
was down wakes then.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from sqlalchemy import Connection

from ..background import stopped_within
from ..storage import team_conversations
from ..storage.announce import announce_conversation_change
from ..storage.database import Database
from ..vocabulary.clock import utcnow
from ..vocabulary.stream import StreamItem

log = logging.getLogger("countersign.team")

Publish = Callable[[Sequence[StreamItem]], Awaitable[None]]


def wake_due(connection: Connection, now: datetime) -> list[StreamItem]:
    """Reopen the snoozes due by ``now`` (one batch) and announce them; the events."""
    events = []
    for changed in team_conversations.wake_due(connection, now):
        event = announce_conversation_change(connection, changed, now)
        if event is not None:
            events.append(event)
    return events


class WakeLoop:
    def __init__(self, database: Database, publish: Publish, *, interval: float) -> None:
        self._database = database
        self._publish = publish
        self.interval = interval

    async def run_once(self) -> int:
        """Wake everything due now, a batch per transaction; how many woke."""
        woken = 0
        while True:
            events = await self._database.run(lambda c: wake_due(c, utcnow()))
            await self._publish(events)
            woken += len(events)
            if len(events) < team_conversations.WAKE_BATCH:
                return woken

    async def run_until(self, stop: asyncio.Event) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                # A database outage must not end the loop: the snoozes wait in their
                # rows, and the next round wakes them.
                log.exception("waking snoozed conversations failed")
            if await stopped_within(stop, self.interval):
                return
