"""Email in the server process: the pieces of ``countersign.mail`` put together.

One per process: the reply tokens (under their own derived key), the presence of this
node's widgets and dashboards (written for the other nodes), the mail worker when a
relay is set, and the SMTP receiver when ``--smtp-port`` is given. Received mail is
committed, then its stream events published, as every change is.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence
from typing import Final

import anyio.to_thread
from sqlalchemy import Connection

from ..mail import parts
from ..mail.delivery import MailWorker
from ..mail.inbound import Inbound, InboundMail, Outcome, arrive
from ..mail.parts import MailFiles
from ..mail.presence import Presence
from ..mail.receiver import SmtpReceiver
from ..mail.relay import Relay
from ..mail.tokens import KEY_PURPOSE, ReplyTokens
from ..storage import attachments
from ..vocabulary.clock import utcnow
from ..vocabulary.stream import StreamItem
from .ratelimit import FailureLimiter, Limit
from .state import ServerState

#: Refused mails (bad tokens, forged senders, unknown mailboxes) per client address.
REFUSED_MAIL: Final = Limit(failures=20, window_seconds=600)


async def receive_mail(state: ServerState, mail: InboundMail, inbound: Inbound) -> Outcome:
    """A received mail taken in (SMTP or HTTP): committed, then its events published.

    Parsed in a thread; its files judged in a thread too (images are decoded), and only
    when the mail passes the checks, so a forged reply costs no decoding; then checked
    again and stored in one transaction, which stores no file for a refused mail."""
    database = state.backend.database
    arrived = await anyio.to_thread.run_sync(arrive, inbound)
    files = MailFiles()
    if arrived.message is not None and parts.file_parts(arrived.message):
        message = arrived.message
        app_id = await database.read(lambda c: mail.destination(c, arrived))
        if app_id is not None:
            limit, allowed = await database.read(lambda c: attachments.limits(c, app_id))
            files = await anyio.to_thread.run_sync(
                functools.partial(parts.prepare, message, limit=limit, allowed=allowed)
            )

    def work(connection: Connection) -> tuple[Outcome, Sequence[StreamItem]]:
        outcome = mail.receive(connection, arrived, utcnow(), files)
        return outcome, outcome.events

    try:
        return await state.commit_and_publish(work)
    finally:
        files.discard()


class MailService:
    def __init__(self, state: ServerState) -> None:
        self.state = state
        backend, settings = state.backend, state.settings
        self.tokens = ReplyTokens(backend.box.derive_key(KEY_PURPOSE))
        state.inbound_mail = self.inbound = InboundMail(settings, self.tokens)
        hub, dashboards = state.hub, state.dashboards
        self.presence = Presence(
            backend.database,
            lambda: {"contact": hub.contact_ids(), "operator": dashboards.operator_ids()},
            lambda kind, subject: (
                hub.has_contact(subject) if kind == "contact" else dashboards.has(subject)
            ),
            settings.presence_seconds,
        )
        self.receiver: SmtpReceiver | None = None

    async def deliver(self, inbound: Inbound) -> Outcome:
        """Take a received mail in: committed, then its events published."""
        return await receive_mail(self.state, self.inbound, inbound)

    async def start(self, stop: asyncio.Event) -> list[asyncio.Task[None]]:
        """Start what runs beside the requests; the tasks end when ``stop`` is set."""
        settings = self.state.settings
        tasks = [asyncio.create_task(self.presence.run_until(stop))]
        if settings.smtp_url:
            worker = MailWorker(
                self.state.backend.database,
                Relay.from_url(settings.smtp_url),
                settings,
                self.tokens,
                self.presence.present,
            )
            tasks.append(asyncio.create_task(worker.run_until(stop)))
        if settings.smtp_port is not None:
            refusals = FailureLimiter(
                REFUSED_MAIL, max_keys=settings.rate_limit_keys, name="refused_mail"
            )
            self.receiver = SmtpReceiver(settings, self.deliver, refusals)
            await self.receiver.start(settings.host, settings.smtp_port)
        return tasks

    async def close(self) -> None:
        if self.receiver is not None:
            await self.receiver.close()
