"""Retention: pruning the logs that would otherwise grow forever -- the verification
log (a row per identify), the webhook outbox, the action log and the idempotency keys
of notification sends (kept 24 hours) -- and uploads no message claimed within a day.
With ``COUNTERSIGN_ATTACHMENTS_DIR`` a round also sweeps the directory: files no row
points at (their rows went by a foreign-key cascade, or never committed) and
half-written uploads in ``.incoming`` (see ``storage/attachment_files.py``).

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
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import anyio.to_thread
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
from .storage.attachment_files import (
    INCOMING_GRACE_SECONDS,
    ORPHAN_GRACE_SECONDS,
    DirectoryFiles,
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
    orphan_files: int = 0  # in the attachments directory: no row, or a dead upload's
    verification_counts: int = 0  # per-minute success counts, with the log's retention

    def __bool__(self) -> bool:
        return bool(
            self.verification_log
            or self.verification_counts
            or self.webhook_events
            or self.action_calls
            or self.idempotency_keys
            or self.uploads
            or self.orphan_files
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
    uploads = await _prune_uploads(database, now - UNATTACHED_LIFETIME, chunk, stop)
    orphans = await sweep_files(database, now.timestamp())
    return Pruned(
        verification_log=log_rows,
        verification_counts=counted,
        webhook_events=events,
        action_calls=calls,
        idempotency_keys=keys,
        uploads=uploads,
        orphan_files=orphans,
    )


async def _prune_uploads(
    database: Database, cutoff: datetime, chunk: int, stop: asyncio.Event | None
) -> int:
    """As :func:`_drain`, and each chunk's files (in a directory) removed once its rows'
    deletion committed: never before, so no live row loses its file."""
    files = database.files
    total = 0
    while True:
        ids = await database.run(lambda c: attachments.prune_unattached_ids(c, cutoff, chunk))
        if ids and isinstance(files, DirectoryFiles):
            await anyio.to_thread.run_sync(files.remove, ids)
        total += len(ids)
        if len(ids) < chunk or (stop is not None and stop.is_set()):
            return total
        await asyncio.sleep(0)


async def sweep_files(database: Database, now: float) -> int:
    """Remove the attachments directory's orphans: files older than
    ``ORPHAN_GRACE_SECONDS`` (at ``now``, a ``time.time()``) that no row names, and
    ``.incoming`` files older than ``INCOMING_GRACE_SECONDS``; how many. A younger
    file is left alone: its upload may be about to commit its row."""
    files = database.files
    if not isinstance(files, DirectoryFiles):
        return 0
    removed = await anyio.to_thread.run_sync(
        files.remove_stale_incoming, now - INCOMING_GRACE_SECONDS
    )
    for fan in await anyio.to_thread.run_sync(files.fan_dirs):
        # One fan-out directory at a time: a few hundred ids per query, never a list of
        # every file in memory.
        candidates = await anyio.to_thread.run_sync(files.ids_in, fan, now - ORPHAN_GRACE_SECONDS)
        if not candidates:
            continue
        kept = await database.read(functools.partial(_existing, candidates))
        orphans = [name for name in candidates if name not in kept]
        removed += await anyio.to_thread.run_sync(files.remove, orphans)
    return removed


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


def _existing(attachment_ids: list[str], connection: Connection) -> set[str]:
    return attachments.existing_ids(connection, attachment_ids)


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
                "pruned %d verification-log entries, %d webhook events, %d action calls, "
                "%d unattached uploads and %d orphan files",
                pruned.verification_log,
                pruned.webhook_events,
                pruned.action_calls,
                pruned.uploads,
                pruned.orphan_files,
            )
