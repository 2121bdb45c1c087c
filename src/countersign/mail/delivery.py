"""The mail worker: every server node runs one, sending what the mail outbox holds.

Each round claims due emails with a lease (``storage.mail_queue.claim_due``: one node
per attempt), decides each (``plan.py``: send, look again later, or cancel), sends it
through the relay, and settles it. A relay that is down or answers 4xx is retried with
backoff under the same Message-ID; a 5xx, or the last retry, makes the email ``dead``
and fires ``email.failed``; a sent one fires ``email.sent``. Without
``COUNTERSIGN_SMTP_URL`` the worker does not run and the outbox waits for it.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import Connection

from ..background import stopped_within
from ..metrics import MAIL_ATTEMPTS
from ..settings import Settings
from ..storage import mail_queue, webhook_outbox
from ..storage.database import Database
from ..vocabulary.clock import utcnow
from ..vocabulary.retry import RetryPolicy
from ..vocabulary.webhook_events import EMAIL_FAILED, EMAIL_SENT
from .decisions import Send, Skip
from .plan import Present, plan
from .relay import Relay, RelayError
from .tokens import ReplyTokens

log = logging.getLogger("countersign.mail")

# Longer than a send can take (the relay's timeout), so a live sender keeps its lease.
LEASE: Final = timedelta(minutes=3)
BATCH: Final = 20


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        base_seconds=settings.mail_backoff_base,
        cap_seconds=3600.0,
        max_attempts=settings.mail_max_attempts,
        max_age=timedelta(days=3),
    )


def _announce(
    connection: Connection,
    claimed: mail_queue.ClaimedMail,
    name: str,
    now: datetime,
    error: str | None,
) -> None:
    data = {
        "email": {
            "id": claimed.id,
            "kind": claimed.kind,
            "conversation_id": claimed.conversation_id,
            "attempts": claimed.attempt,
            **({"error": error} if error else {}),
        }
    }
    webhook_outbox.enqueue(
        connection, claimed.app_id, name, data, now, contact_id=claimed.contact_id
    )


class MailWorker:
    def __init__(
        self,
        database: Database,
        relay: Relay,
        settings: Settings,
        tokens: ReplyTokens,
        present: Present,
        *,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._database = database
        self._relay = relay
        self._settings = settings
        self._tokens = tokens
        self._present = present
        self._policy = retry_policy(settings)
        self._rng = rng

    async def run_until(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                busy = await self.run_once() >= BATCH
            except Exception:  # keep sending; a failed round is retried
                log.exception("mail round failed")
                busy = False
            if not busy:
                await stopped_within(stop, self._settings.mail_poll_seconds)

    async def run_once(self) -> int:
        """One round: claim what is due and handle it; how many were claimed."""
        claimed = await self._database.run(
            lambda c: mail_queue.claim_due(c, utcnow(), LEASE, BATCH)
        )
        for item in claimed:  # one at a time: a relay is not hurried by a crowd
            await self._handle(item)
        return len(claimed)

    def _prepare(self, connection: Connection, claimed: mail_queue.ClaimedMail) -> Send | Skip:
        now = utcnow()
        decided = plan(connection, claimed, self._settings, self._tokens, self._present, now)
        if isinstance(decided, Skip):
            mail_queue.settle(
                connection, claimed, now, status=decided.status, reason=decided.reason,
                retry_at=decided.retry_at,
            )  # fmt: skip
        else:
            mail_queue.fix_message_id(
                connection, claimed, str(decided.message["Message-ID"]).strip("<>"),
                decided.to, str(decided.message["Subject"]),
            )  # fmt: skip
        return decided

    async def _handle(self, claimed: mail_queue.ClaimedMail) -> None:
        decided = await self._database.run(lambda c: self._prepare(c, claimed))
        if isinstance(decided, Skip):
            return
        error: str | None = None
        permanent = False
        try:
            await self._relay.send(decided.message, self._settings.mail_from, [decided.to])
        except RelayError as failure:
            error, permanent = str(failure), failure.permanent
        except Exception as failure:  # a bug must not leave the email leased
            log.exception("mail %s could not be sent", claimed.id)
            error = f"internal_error: {type(failure).__name__}"
        now = utcnow()
        MAIL_ATTEMPTS.labels("sent" if error is None else "failed").inc()
        retry_at = (
            None
            if permanent or error is None
            else self._policy.retry_at(claimed.attempt, claimed.created_at, now, self._rng)
        )

        def settle(connection: Connection) -> None:
            if error is None:
                if mail_queue.settle(connection, claimed, now, status="sent"):
                    _announce(connection, claimed, EMAIL_SENT, now, None)
            elif retry_at is not None:
                mail_queue.settle(
                    connection, claimed, now, status="pending", error=error, retry_at=retry_at
                )
            elif mail_queue.settle(connection, claimed, now, status="dead", error=error):
                _announce(connection, claimed, EMAIL_FAILED, now, error)

        await self._database.run(settle)
        if error is not None:
            log.info("mail %s attempt %d failed: %s", claimed.id, claimed.attempt, error)
