"""Retention: pruning the logs that would otherwise grow forever -- the verification
log (a row per identify), the webhook outbox, the action log and the idempotency keys
of notification sends (kept 24 hours) -- and uploads no message claimed within a day.

Every server node runs :func:`prune_until`; ``countersign db prune`` calls
:func:`prune_now` once. A round removes verification-log entries older than
``COUNTERSIGN_VERIFICATION_LOG_RETENTION_DAYS``, settled webhook events (every delivery
``delivered`` or ``dead``) older than ``COUNTERSIGN_WEBHOOK_RETENTION_DAYS`` with their
deliveries and attempts, and action calls older than
``COUNTERSIGN_ACTION_LOG_RETENTION_DAYS``. An event with an open delivery is kept
whatever its age, so delivery stays at least once.

The work goes in chunks of :data:`CHUNK` rows, one short transaction each: on SQLite a
transaction runs on the event loop, and requests get their turn between chunks. Nodes
pruning at the same time skip each other's rows (see ``storage.webhook_outbox.prune``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import Connection

from .background import stopped_within
from .settings import Settings
from .storage import (
    actions,
    attachments,
    notification_sends,
    verification_counts,
    verification_log,
    webhook_outbox,
)
from .storage.database import Database
from .vocabulary.clock import utcnow

log = logging.getLogger("countersign.retention")

INTERVAL_SECONDS: Final = 3600.0
# Not at once: a node that just started has start-up work of its own, and a server
# started for a moment (a test, a smoke check) never pays for a prune.
FIRST_DELAY_SECONDS: Final = 60.0
CHUNK: Final = 100  # events with 2 deliveries and 3 attempts each: ~4-7 ms on SQLite

Prune = Callable[[Connection, datetime, int], int]
# An upload a message has not claimed in a day was abandoned (a closed tab, a
# refused send): its bytes go (SPEC 11).
UNATTACHED_LIFETIME: Final = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Pruned:
    """How many rows one round removed (events count without their deliveries)."""

    verification_log: int
    webhook_events: int
    action_calls: int
    idempotency_keys: int = 0  # of notification sends, past their 24 hours
    uploads: int = 0  # never attached to a message, after UNATTACHED_LIFETIME
    verification_counts: int = 0  # per-minute success counts, with the log's retention

    def __bool__(self) -> bool:
        return bool(
            self.verification_log
            or self.verification_counts
            or self.webhook_events
            or self.action_calls
            or self.idempotency_keys
            or self.uploads
        )


async def prune_now(
    database: Database,
    *,
    verification_log_retention: timedelta,
    webhook_retention: timedelta,
    action_log_retention: timedelta,
    now: datetime | None = None,
    chunk: int = CHUNK,
    stop: asyncio.Event | None = None,
) -> Pruned:
    """Remove what is older than its retention, ``chunk`` rows per transaction, until
    nothing is left or ``stop`` is set."""
    now = now or utcnow()
    log_rows = await _drain(
        # Log rows are small and have no dependents: more per transaction.
        database,
        verification_log.prune,
        now - verification_log_retention,
        10 * chunk,
        stop,
    )
    # The successes' counts are the same log, counted: the same retention.
    counted = await _drain(
        database, verification_counts.prune, now - verification_log_retention, 10 * chunk, stop
    )
    events = await _drain(database, webhook_outbox.prune, now - webhook_retention, chunk, stop)
    calls = await _drain(database, actions.prune_calls, now - action_log_retention, chunk, stop)
    keys = await _drain(
        database, notification_sends.prune_keys, now - notification_sends.KEY_LIFETIME, chunk, stop
    )
    uploads = await _drain(
        database, attachments.prune_unattached, now - UNATTACHED_LIFETIME, chunk, stop
    )
    return Pruned(
        verification_log=log_rows,
        verification_counts=counted,
        webhook_events=events,
        action_calls=calls,
        idempotency_keys=keys,
        uploads=uploads,
    )


async def _drain(
    database: Database, prune: Prune, cutoff: datetime, chunk: int, stop: asyncio.Event | None
) -> int:
    total = 0
    while True:
        removed = await database.run(lambda c: prune(c, cutoff, chunk))
        total += removed
        # A short chunk means nothing is left, or another node is pruning the rest.
        if removed < chunk or (stop is not None and stop.is_set()):
            return total
        await asyncio.sleep(0)  # let the requests waiting on the event loop through


async def prune_until(
    database: Database,
    settings: Settings,
    stop: asyncio.Event,
    *,
    first_delay: float = FIRST_DELAY_SECONDS,
    interval: float = INTERVAL_SECONDS,
) -> None:
    """Prune ``first_delay`` seconds after start, then every ``interval``, until
    ``stop`` is set. Stopping lets the chunk in progress finish instead of cancelling it
    (a cancelled call would abandon its database connection in a worker thread)."""
    delay = first_delay
    while not await stopped_within(stop, delay):
        delay = interval
        try:
            pruned = await prune_now(
                database,
                verification_log_retention=settings.verification_log_retention,
                webhook_retention=settings.webhook_retention,
                action_log_retention=settings.action_log_retention,
                stop=stop,
            )
        except Exception:  # keep the loop: the next round tries again
            log.exception("pruning old log entries, webhook events and action calls failed")
            continue
        if pruned:
            log.info(
                "pruned %d verification-log entries, %d webhook events and %d action calls",
                pruned.verification_log,
                pruned.webhook_events,
                pruned.action_calls,
            )
