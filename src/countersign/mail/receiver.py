"""The built-in SMTP receiver (``countersign serve --smtp-port 2525``), on aiosmtpd.

A listener of its own beside the HTTP port, in the server's event loop, with limits:
a message over ``smtp_max_message_bytes`` is refused while it arrives (552), more than
``smtp_max_recipients`` recipients get 452, a recipient outside the inbound domain 550
at once, and past ``smtp_max_connections`` open sessions a new connection is told 421
and closed. Each accepted DATA goes to ``deliver`` (``inbound.py``, committed and
published by the server); a refused mail is answered 550 with the log's reason.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final, Protocol

from aiosmtpd.smtp import SMTP, Envelope, Session

from ..settings import Settings
from .inbound import Inbound, Outcome

log = logging.getLogger("countersign.mail")

Deliver = Callable[[Inbound], Awaitable[Outcome]]
BUSY_REFUSING: Final = "421 4.7.0 too many refused mails from your address, try again later"


class Refusals(Protocol):
    """Refused mail counted per client address (the server's failure limiter): a
    sender guessing tokens or mailbox names is turned away once over the limit."""

    def retry_after(self, key: str) -> int | None: ...

    def fail(self, key: str) -> float: ...


_ANSWERS: Final = {
    "accepted": "250 OK: delivered",
    "ignored": "250 OK: not delivered (automatic or empty mail)",
}
_REFUSALS: Final = {
    "bad_token": "550 5.7.1 this reply address does not verify",
    "sender_mismatch": "550 5.7.1 the sender is not this conversation's contact",
}


def _peer(session: Session) -> str:
    peer = session.peer
    return str(peer[0]) if isinstance(peer, tuple) and peer else str(peer)


class _Handler:
    def __init__(self, settings: Settings, deliver: Deliver, refusals: Refusals) -> None:
        self._settings = settings
        self._deliver = deliver
        self._refusals = refusals

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self._refusals.retry_after(_peer(session)) is not None:
            return BUSY_REFUSING
        domain = self._settings.inbound_domain
        if domain is None or address.rpartition("@")[2].lower() != domain:
            self._refusals.fail(_peer(session))
            return "550 5.1.1 no such mailbox here"
        if len(envelope.rcpt_tos) >= self._settings.smtp_max_recipients:
            return "452 4.5.3 too many recipients"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self._refusals.retry_after(_peer(session)) is not None:
            return BUSY_REFUSING
        raw = envelope.original_content or envelope.content or b""
        inbound = Inbound(
            raw=raw if isinstance(raw, bytes) else raw.encode("utf-8", "replace"),
            channel="smtp",
            envelope_from=envelope.mail_from or "",
            recipients=tuple(envelope.rcpt_tos),
        )
        try:
            outcome = await self._deliver(inbound)
        except Exception:
            log.exception("an inbound mail could not be taken in")
            return "451 4.3.0 try again later"
        log.info("inbound mail %s: %s", outcome.status, outcome.reason)
        if outcome.status == "refused":
            self._refusals.fail(_peer(session))
            return _REFUSALS.get(outcome.reason, f"550 5.7.1 refused: {outcome.reason}")
        return _ANSWERS[outcome.status]


class _Busy(asyncio.Protocol):
    """Said to a connection past the limit: 421, then closed."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(b"421 4.3.2 too many connections, try again later\r\n")
        transport.close()


class _CountedSMTP(SMTP):
    """An SMTP session that keeps its receiver's count of open sessions."""

    def __init__(self, receiver: SmtpReceiver, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._receiver = receiver

    def connection_made(self, transport: Any) -> None:
        self._receiver.open_sessions += 1
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        self._receiver.open_sessions -= 1
        super().connection_lost(error)


class SmtpReceiver:
    def __init__(self, settings: Settings, deliver: Deliver, refusals: Refusals) -> None:
        self._settings = settings
        self._handler = _Handler(settings, deliver, refusals)
        self.open_sessions = 0
        self._server: asyncio.Server | None = None

    def _protocol(self) -> asyncio.BaseProtocol:
        if self.open_sessions >= self._settings.smtp_max_connections:
            return _Busy()
        return _CountedSMTP(
            self,
            self._handler,
            data_size_limit=self._settings.smtp_max_message_bytes,
            hostname=self._settings.inbound_domain,
            timeout=60,
        )

    async def start(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        # reuse_port: with --workers N every worker listens, and the kernel spreads
        # the connections over them.
        self._server = await loop.create_server(self._protocol, host, port, reuse_port=True)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
