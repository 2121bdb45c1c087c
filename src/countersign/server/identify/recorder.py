"""The verification log and secret usage, written off the request path.

identify hands over what happened and returns; every quarter second this worker
diagnoses the failures (at most a bounded number per app per second, so a flood of
bad hashes cannot burn the CPU), writes the entries in one transaction, and adds up
secret usage so a hot secret costs one write per flush, not one per request.

Successes are not entries: they are counted in memory per app, secret and minute and
written as one upsert per count per flush, with one UPDATE per verified contact for
its ``last_verified_at`` (SPEC 9). Failures and unverified claims stay rows.

A presented signature lives here only until it is diagnosed; no hash is ever stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import datetime
from typing import Final

from sqlalchemy import Connection

from ...background import stopped_within
from ...core import FAILURE_CODES
from ...metrics import IDENTIFY_OUTCOMES
from ...storage import apps, public_keys, verification_counts, verification_log
from ...storage.database import Database
from ...vocabulary.clock import utcnow
from ..app_directory import AppDirectory
from . import triggers
from .entry import PendingEntry

log = logging.getLogger("countersign.server")

FLUSH_SECONDS: Final = 0.25
FLUSH_CHUNK: Final = 256  # log rows per transaction
DIAGNOSES_PER_APP_PER_SECOND: Final = 50
UNDIAGNOSED_HINT: Final = (
    "Not diagnosed: more failures arrived than are analysed per second. "
    "Try this identifier again alone to see why it fails."
)


class VerificationRecorder:
    def __init__(self, database: Database, directory: AppDirectory) -> None:
        self._database = database
        self._directory = directory
        self._pending: list[PendingEntry] = []
        self._usage: dict[str, tuple[int, datetime]] = {}
        # (app, secret, minute, method) -> count; the method only for the metrics.
        self._successes: dict[tuple[str, str, datetime, str], int] = {}
        self._verified_at: dict[str, datetime] = {}  # contact id -> latest verified time
        self._budget: dict[str, tuple[float, int]] = {}
        self._flushing = asyncio.Lock()

    def record(self, entry: PendingEntry) -> None:
        self._pending.append(entry)

    def verified(
        self, app_id: str, secret_id: str | None, method: str, contact_id: str, at: datetime
    ) -> None:
        """A successful identify of ``contact_id`` at ``at`` (aware UTC): counted, and
        the secret's (or public key's) use with it."""
        key = (app_id, secret_id or "", at.replace(second=0, microsecond=0), method)
        self._successes[key] = self._successes.get(key, 0) + 1
        seen = self._verified_at.get(contact_id)
        if seen is None or seen < at:
            self._verified_at[contact_id] = at
        if secret_id is not None:
            self.secret_used(secret_id, at)

    def secret_used(self, secret_id: str, at: datetime) -> None:
        count, _ = self._usage.get(secret_id, (0, at))
        self._usage[secret_id] = (count + 1, at)

    def _may_diagnose(self, app_id: str) -> bool:
        second = time.monotonic() // 1
        window, used = self._budget.get(app_id, (second, 0))
        if window != second:
            window, used = second, 0
        if used >= DIAGNOSES_PER_APP_PER_SECOND:
            return False
        self._budget[app_id] = (window, used + 1)
        return True

    async def _diagnose(self, entry: PendingEntry) -> None:
        config = await self._directory.get(entry.app_id)
        if config is None or not self._may_diagnose(entry.app_id):
            entry.code, entry.hint = "undiagnosed", UNDIAGNOSED_HINT
            return
        diagnosis = config.ring.diagnose(
            entry.identifier,
            entry.signature,
            other_identifier=entry.other_identifier,
            app_id=entry.app_id,
        )
        # The ring may have changed since the request (a secret created meanwhile).
        entry.code = diagnosis.code if diagnosis.code in FAILURE_CODES else "unknown"
        entry.hint = diagnosis.hint
        entry.secret_id = diagnosis.secret_id

    async def flush(self) -> None:
        """Write everything recorded so far; when it returns, it is in the log.

        One flush at a time: a flush called while the background one is writing its
        chunks waits for it, instead of returning with those rows not yet written."""
        async with self._flushing:
            await self._flush()

    async def _flush(self) -> None:
        pending, self._pending = self._pending, []
        usage, self._usage = self._usage, {}
        successes, self._successes = self._successes, {}
        verified_at, self._verified_at = self._verified_at, {}
        if not pending and not usage and not successes:
            return
        counts: dict[verification_counts.SuccessKey, int] = {}
        for (app_id, secret_id, minute, method), count in successes.items():
            IDENTIFY_OUTCOMES.labels("verified", method, "ok").inc(count)
            key = (app_id, secret_id, minute)
            counts[key] = counts.get(key, 0) + count
        # SQLite writes on the event loop: a quarter second of a busy server's log
        # (~2,000 rows) in one transaction held every request for ~10 ms, the p99 of
        # benchmarks/identify.py. Chunks, with the loop let through between them.
        # The counts, the contacts' times and the usage go with the first chunk.
        for start in range(0, max(len(pending), 1), FLUSH_CHUNK):
            await self._write(pending[start : start + FLUSH_CHUNK], usage, counts, verified_at)
            usage, counts, verified_at = {}, {}, {}
            await asyncio.sleep(0)

    async def _write(
        self,
        pending: list[PendingEntry],
        usage: dict[str, tuple[int, datetime]],
        counts: dict[verification_counts.SuccessKey, int],
        verified_at: dict[str, datetime],
    ) -> None:
        for entry in pending:
            if entry.needs_diagnosis:
                await self._diagnose(entry)
            entry.signature = None
            IDENTIFY_OUTCOMES.labels(entry.outcome, entry.method or "none", entry.code or "").inc()
        failures = await triggers.identity_failures(self._directory.get, pending)
        rows = [
            {
                "app_id": entry.app_id,
                "at": entry.at,
                "outcome": entry.outcome,
                "method": entry.method,
                "code": entry.code,
                "hint": entry.hint,
                "identifier": entry.identifier,
                "secret_id": entry.secret_id,
                "origin": entry.origin,
                "client_ip": entry.client_ip,
            }
            for entry in pending
        ]

        def write(connection: Connection) -> None:
            if rows:
                verification_log.insert_entries(connection, rows)
            if counts:
                verification_counts.add_successes(connection, counts)
            if verified_at:
                verification_counts.mark_verified(connection, verified_at)
            if usage:
                apps.record_secret_usage(
                    connection, {k: v for k, v in usage.items() if not k.startswith("pub_")}
                )
                public_keys.record_usage(
                    connection, {k: v for k, v in usage.items() if k.startswith("pub_")}
                )
            if failures:  # identity.failed, committed with the log rows it reports
                triggers.enqueue_identity_failures(connection, failures, utcnow())

        await self._database.run(write)

    async def run_until(self, stop: asyncio.Event) -> None:
        """Flush every quarter second until ``stop`` is set, then once more."""
        while not await stopped_within(stop, FLUSH_SECONDS):
            try:
                await self.flush()
            except Exception:  # keep logging; a failed batch is reported, not fatal
                log.exception("could not write the verification log")

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.flush()
