"""Retention: pruning the webhook outbox and the action log, which would otherwise grow
forever.

Every server node runs :func:`prune_until` beside its delivery worker; ``countersign db
prune`` calls :func:`prune_now` once. A round removes settled webhook events (every
delivery ``delivered`` or ``dead``) older than ``COUNTERSIGN_WEBHOOK_RETENTION_DAYS``,
with their deliveries and attempts, and action calls older than
``COUNTERSIGN_ACTION_LOG_RETENTION_DAYS``. An event with an open delivery is kept
whatever its age, so delivery stays at least once.

The work goes in chunks of :data:`CHUNK` rows, one short transaction each: on SQLite a
transaction runs on the event loop, and requests get their turn between chunks. Nodes
pruning at the same time skip each other's rows (see ``storage.webhooks.prune``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import Connection

from ..settings import Settings
from ..storage import actions, webhooks
from ..storage.database import Database
from ..storage.models import utcnow

log = logging.getLogger("countersign.retention")

INTERVAL_SECONDS: Final = 3600.0
# Not at once: a node that just started has start-up work of its own, and a server
# started for a moment (a test, a smoke check) never pays for a prune.
FIRST_DELAY_SECONDS: Final = 60.0
CHUNK: Final = 100  # events with 2 deliveries and 3 attempts each: ~4-7 ms on SQLite

Prune = Callable[[Connection, datetime, int], int]


@dataclass(frozen=True, slots=True)
class Pruned:
    """How many rows one round removed (events count without their deliveries)."""

    webhook_events: int
    action_calls: int


async def prune_now(
    database: Database,
    *,
    webhook_retention: timedelta,
    action_log_retention: timedelta,
    now: datetime | None = None,
    chunk: int = CHUNK,
    stop: asyncio.Event | None = None,
) -> Pruned:
    """Remove what is older than its retention, ``chunk`` rows per transaction, until
    nothing is left or ``stop`` is set."""
    now = now or utcnow()
    events = await _drain(database, webhooks.prune, now - webhook_retention, chunk, stop)
    calls = await _drain(database, actions.prune_calls, now - action_log_retention, chunk, stop)
    return Pruned(webhook_events=events, action_calls=calls)


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
    while not await _stopped_within(stop, delay):
        delay = interval
        try:
            pruned = await prune_now(
                database,
                webhook_retention=settings.webhook_retention,
                action_log_retention=settings.action_log_retention,
                stop=stop,
            )
        except Exception:  # keep the loop: the next round tries again
            log.exception("pruning old webhook events and action calls failed")
            continue
        if pruned.webhook_events or pruned.action_calls:
            log.info(
                "pruned %d webhook events and %d action calls",
                pruned.webhook_events,
                pruned.action_calls,
            )


async def _stopped_within(stop: asyncio.Event, seconds: float) -> bool:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()
