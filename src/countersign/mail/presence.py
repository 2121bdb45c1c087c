"""Whether a contact has a widget open, or an operator a dashboard, on any node.

This node answers for itself from memory (its hub's streams, its open dashboards);
for the others it reads ``storage.presence``, which every node refreshes each
``presence_seconds`` (:class:`PresenceSync`). Nothing is written when a stream opens
or closes, so neither identify nor a stream's connect pays for it; the price is that
another node's widget counts as open up to a few refreshes after it closed, which
only delays an email.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import Connection

from ..background import stopped_within
from ..storage import presence
from ..storage.database import Database
from ..vocabulary.clock import utcnow
from ..vocabulary.ids import new_id

log = logging.getLogger("countersign.mail")

#: A node's rows count while younger than this many refreshes.
FRESH_REFRESHES = 3

Snapshot = Callable[[], dict[str, set[str]]]  # kind -> subject ids open here
LocalCheck = Callable[[str, str], bool]  # (kind, subject id) -> open here


class Presence:
    def __init__(
        self, database: Database, snapshot: Snapshot, local: LocalCheck, interval: float
    ) -> None:
        self.node_id = new_id("node", 9)
        self._database = database
        self._snapshot = snapshot
        self._local = local
        self._interval = interval

    def present(self, connection: Connection, kind: str, subject_id: str) -> bool:
        if self._local(kind, subject_id):
            return True
        fresh_after = utcnow() - timedelta(seconds=self._interval * FRESH_REFRESHES)
        return presence.is_present(
            connection, kind, subject_id, fresh_after=fresh_after, other_than=self.node_id
        )

    def _refresh(self, connection: Connection) -> None:
        now = utcnow()
        for kind, subjects in self._snapshot().items():
            presence.refresh(connection, self.node_id, kind, subjects, now)

    async def run_until(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self._database.run(self._refresh)
            except Exception:
                log.exception("refreshing presence failed")
            await stopped_within(stop, self._interval)
        try:
            await self._database.run(lambda c: presence.forget_node(c, self.node_id))
        except Exception:
            log.exception("clearing presence failed")
