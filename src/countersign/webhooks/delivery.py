"""The delivery worker: every server node runs one, sending what the outbox holds.

Each round claims due deliveries with a lease (``storage.webhook_queue.claim_due``: never
the same attempt on two nodes, and only the oldest open delivery of each endpoint, so
an endpoint sees its events in order), POSTs them concurrently, and records each
outcome. A 2xx is delivered; anything else (another status, a refused connection, a
timeout, an address the SSRF guard refuses) is logged and retried later with backoff,
until the retry policy gives up and the delivery is ``dead``.

The worker wakes at once when a transaction on this node has enqueued something (a
commit listener of the database, which runs only after the commit), and otherwise polls every
``webhook_poll_seconds`` for events written by other nodes or the CLI.

Delivery is at least once: a node that dies mid-attempt leaves its lease to expire
and the attempt is made again, under the same event id, which receivers use to drop
duplicates.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Final

from .. import __version__
from ..core.signed_links import KEY_PURPOSE as LINK_KEY_PURPOSE
from ..metrics import WEBHOOK_ATTEMPTS
from ..outbound import OutboundClient, OutboundError, OutboundPolicy, OutboundResponse
from ..settings import Settings
from ..storage import webhook_outbox, webhook_queue
from ..storage.database import Database
from ..storage.encryption import SecretBox
from ..vocabulary.clock import utcnow
from ..vocabulary.retry import RetryPolicy
from ..vocabulary.standard_webhooks import standard_headers
from ..vocabulary.webhook_events import envelope_bytes
from ..vocabulary.webhook_signature import SIGNATURE_HEADER, sign
from .links import with_download_links

log = logging.getLogger("countersign.webhooks")

USER_AGENT: Final = f"Countersign-Webhooks/{__version__}"
EVENT_ID_HEADER: Final = "X-Countersign-Event-Id"
EVENT_TYPE_HEADER: Final = "X-Countersign-Event-Type"
ATTEMPT_HEADER: Final = "X-Countersign-Delivery-Attempt"
TIMEOUT_SECONDS: Final = 10.0
# Longer than any attempt can take, so a lease never runs out under a live sender.
LEASE: Final = timedelta(seconds=TIMEOUT_SECONDS * 6)
BATCH: Final = 20
# The receiver's answer is not used beyond its status; reading little keeps it cheap.
MAX_RESPONSE_BYTES: Final = 1024
INTERRUPTED: Final = "interrupted: the server stopped before the endpoint answered"


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        base_seconds=settings.webhook_backoff_base,
        cap_seconds=settings.webhook_backoff_cap,
        max_attempts=settings.webhook_max_attempts,
        max_age=settings.webhook_max_age,
    )


def delivery_headers(claimed: webhook_queue.Claimed, body: bytes, secret: str) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_ID_HEADER: claimed.event_id,
        EVENT_TYPE_HEADER: claimed.event_type,
        ATTEMPT_HEADER: str(claimed.attempt),
    }
    if claimed.signature_format == "standard":
        # The event id as webhook-id: the same on every attempt and redelivery, which
        # is what Standard Webhooks receivers deduplicate on.
        return headers | standard_headers(claimed.event_id, int(time.time()), body, secret)
    return headers | {SIGNATURE_HEADER: sign(body, secret)}


class DeliveryWorker:
    def __init__(
        self,
        database: Database,
        box: SecretBox,
        client: OutboundClient,
        settings: Settings,
        *,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._database = database
        self._box = box
        self._link_key = box.derive_key(LINK_KEY_PURPOSE)
        self._client = client
        self._policy = retry_policy(settings)
        self._poll = settings.webhook_poll_seconds
        self._rng = rng
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def wake(self) -> None:
        """Look for due deliveries now rather than at the next poll (any thread)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    def _on_commit(self, notes: dict[str, Any]) -> None:
        # After the commit, so the worker's query will see what it wrote; a rolled-back
        # transaction's notes never reach here.
        if notes.get(webhook_outbox.ENQUEUED_FLAG):
            self.wake()

    async def run_until(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set. A database call in progress is finished,
        never cancelled; a POST in progress is abandoned and logged as interrupted, to be
        made again at once (by another node, or by this one after a restart)."""
        self._loop = asyncio.get_running_loop()
        listeners = self._database.commit_listeners
        listeners.append(self._on_commit)
        try:
            while not stop.is_set():
                try:
                    busy = await self.run_once(stop) >= BATCH
                except Exception:  # keep delivering; a failed round is retried
                    log.exception("webhook delivery round failed")
                    busy = False
                if not busy:
                    await self._sleep(stop)
        finally:
            listeners.remove(self._on_commit)
            self._loop = None

    async def _sleep(self, stop: asyncio.Event) -> None:
        waiters = [asyncio.create_task(stop.wait()), asyncio.create_task(self._wake.wait())]
        try:
            await asyncio.wait(waiters, timeout=self._poll, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            self._wake.clear()

    async def run_once(self, stop: asyncio.Event | None = None) -> int:
        """One round: claim what is due and attempt it; how many were claimed."""
        claimed = await self._database.run(
            lambda c: webhook_queue.claim_due(c, utcnow(), LEASE, BATCH)
        )
        if claimed:
            await asyncio.gather(*(self._attempt(item, stop) for item in claimed))
        return len(claimed)

    async def _attempt(self, claimed: webhook_queue.Claimed, stop: asyncio.Event | None) -> None:
        status, error, elapsed = await self._post(claimed, stop)
        now = utcnow()
        delivered = status is not None and 200 <= status < 300
        if delivered:
            retry_at = None
        elif error == INTERRUPTED:
            retry_at = now  # not the endpoint's fault: no backoff
        else:
            retry_at = self._policy.retry_at(
                claimed.attempt, claimed.event_created_at, now, self._rng
            )
        WEBHOOK_ATTEMPTS.labels("delivered" if delivered else "failed").inc()
        outcome = webhook_queue.AttemptOutcome(status, error, elapsed, delivered, retry_at)
        await self._database.run(lambda c: webhook_queue.finish_attempt(c, claimed, outcome, now))
        if not delivered:
            log.info(
                "webhook %s to %s attempt %d failed: %s",
                claimed.event_id,
                claimed.endpoint_id,
                claimed.attempt,
                error or f"HTTP {status}",
            )

    async def _post(
        self, claimed: webhook_queue.Claimed, stop: asyncio.Event | None
    ) -> tuple[int | None, str | None, int]:
        """(status, None, elapsed ms) for an answer, (None, error, elapsed ms) without."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        send = asyncio.create_task(self._send(claimed))
        if stop is not None:
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait({send, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if not send.done():
                send.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await send
                return None, INTERRUPTED, int((loop.time() - started) * 1000)
        try:
            response = await send
        except OutboundError as failure:
            return None, f"{failure.code}: {failure.message}", int((loop.time() - started) * 1000)
        except Exception as failure:  # a bug must not leave the delivery leased
            log.exception("webhook %s could not be sent", claimed.event_id)
            return None, f"internal_error: {type(failure).__name__}", 0
        return response.status, None, int(response.elapsed_ms)

    async def _send(self, claimed: webhook_queue.Claimed) -> OutboundResponse:
        body = envelope_bytes(
            claimed.event_id,
            claimed.event_type,
            claimed.event_created_at,
            claimed.app_id,
            with_download_links(claimed.data, self._link_key, time.time()),
        )
        secret = self._box.open(claimed.secret_ciphertext, claimed.endpoint_id)
        headers = delivery_headers(claimed, body, secret.reveal().decode("utf-8"))
        policy = OutboundPolicy(
            allow_private_network=claimed.allow_private_network,
            timeout_seconds=TIMEOUT_SECONDS,
            max_response_bytes=MAX_RESPONSE_BYTES,
        )
        return await self._client.request(
            "POST", claimed.url, body=body, headers=headers, policy=policy
        )
