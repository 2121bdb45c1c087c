"""Closing connections whose client is too slow to send its request.

uvicorn closes a keep-alive connection that sends no byte at all for 5 s after a
response, and has no other limit on how long a client may take: a connection that
dribbles its request headers a byte every few seconds, that never sends a byte after
connecting, or that stops half-way through a body, stays open for as long as the
client likes. In the review's test 300 connections dribbling headers and 100 with
partial bodies all stayed open to the end. An ASGI middleware cannot help: the app
sees a request only once its headers are complete, and a stalled body only as a
``receive()`` that does not return. So the limits live in the HTTP protocol:
:class:`SlowClientProtocol` is uvicorn's httptools protocol with two of them, and
``countersign serve`` hands it to uvicorn as ``http=``.

- **Headers**: a request's headers must be complete within ``request_header_timeout``
  of the connection's start or, on a keep-alive connection, of the end of the
  previous response.
- **Body**: while a request's body is still coming, some bytes must arrive at least
  every ``request_body_timeout``; an upload that is slow but moving is never cut. Time
  the server itself holds the body up (reading paused until the app takes what came,
  or the client waiting for our ``100 Continue``) does not count.

A WebSocket leaves this protocol at its upgrade, and both limits with it.

Every request pays a ``loop.time()`` per chunk received and an attribute write when its
headers are complete; no request or connection has a timer of its own. One sweep per
server, every second (or a quarter of the shorter limit, if that is less), sets the
header deadline of connections that have been answered and closes those past a limit:
``close()``, which still sends a response the client has not read yet, then
``abort()`` if the connection is still open a header limit later. The sweep runs
only while there are connections to watch, so it has stopped by the time the server's
shutdown has closed the last one.
"""

from __future__ import annotations

import asyncio
import logging
import math
import weakref
from collections import Counter
from dataclasses import dataclass
from typing import Any, Final

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from ..settings import Settings, load_settings

log = logging.getLogger("countersign.server")

NEVER: Final = math.inf
MAX_SWEEP_SECONDS: Final = 1.0


@dataclass(frozen=True)
class SlowClientLimits:
    header_seconds: float
    body_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> SlowClientLimits:
        return cls(settings.request_header_timeout, settings.request_body_timeout)

    @property
    def sweep_seconds(self) -> float:
        """How often to look: a connection is closed at most this long past a limit."""
        return min(MAX_SWEEP_SECONDS, self.header_seconds / 4, self.body_seconds / 4)


class _Sweeper:
    """The one periodic look over a server's watched connections."""

    def __init__(self, loop: asyncio.AbstractEventLoop, limits: SlowClientLimits) -> None:
        self.loop = loop
        self.limits = limits
        self._watched: set[SlowClientProtocol] = set()
        self._timer: asyncio.TimerHandle | None = None

    def watch(self, connection: SlowClientProtocol) -> None:
        self._watched.add(connection)
        if self._timer is None:
            self._timer = self.loop.call_later(self.limits.sweep_seconds, self._sweep)

    def forget(self, connection: SlowClientProtocol) -> None:
        self._watched.discard(connection)
        if not self._watched and self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _sweep(self) -> None:
        self._timer = None
        now = self.loop.time()
        closed: Counter[str] = Counter()
        for connection in list(self._watched):
            if reason := connection.past_a_limit(now):
                closed[reason] += 1
        if closed:
            # One line a sweep, not one per connection: a flood must not flood the log.
            log.info(
                "closed %d slow connection(s): %s",
                closed.total(),
                ", ".join(f"{count} {reason}" for reason, count in closed.items()),
            )
        if self._watched:
            self._timer = self.loop.call_later(self.limits.sweep_seconds, self._sweep)


# One sweeper per uvicorn server (a server's connections share its ServerState).
_sweepers: weakref.WeakKeyDictionary[ServerState, _Sweeper] = weakref.WeakKeyDictionary()


def _sweeper_of(server_state: ServerState, loop: asyncio.AbstractEventLoop) -> _Sweeper:
    sweeper = _sweepers.get(server_state)
    if sweeper is None:
        # A worker process reads the same COUNTERSIGN_* variables as the app it serves.
        limits = SlowClientLimits.from_settings(load_settings())
        sweeper = _sweepers[server_state] = _Sweeper(loop, limits)
    return sweeper


class SlowClientProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing connections whose client is too slow."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._sweeper = _sweeper_of(server_state, self.loop)
        self._limits = self._sweeper.limits
        self._headers_due = NEVER  # when the request headers being read are due
        self._last_bytes = 0.0  # when the client last sent anything
        self._closed_at: float | None = None  # when a limit closed the connection

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._last_bytes = now = self.loop.time()
        self._headers_due = now + self._limits.header_seconds
        self._sweeper.watch(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._sweeper.forget(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._last_bytes = self.loop.time()
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._headers_due = NEVER
        super().on_headers_complete()

    def handle_websocket_upgrade(self) -> None:
        # From here on the connection is the WebSocket protocol's; no limit applies.
        self._sweeper.forget(self)
        super().handle_websocket_upgrade()

    def past_a_limit(self, now: float) -> str | None:
        """Close the connection if it is past a limit; which one, if so."""
        if self._closed_at is not None:
            # Closed, yet still open: the client does not read what was left to send.
            if now - self._closed_at >= self._limits.header_seconds:
                self.transport.abort()
            return None
        if self.transport.is_closing():
            return None
        cycle = self.cycle
        if self._headers_due == NEVER and cycle is not None and cycle.response_complete:
            # Answered, and no request read after it (a pipelined one is started at once;
            # whatever arrives now has headers still to come): the next request's headers
            # are due a limit from about now. Set here, not when the response completes,
            # to keep that off every request's path; it is one sweep late at most.
            if not self.pipeline:
                self._headers_due = now + self._limits.header_seconds
            return None
        if now >= self._headers_due:
            return self._close(now, "with request headers unfinished")
        if cycle is None or not cycle.more_body or cycle.response_complete:
            return None  # no body is awaited: no request, a request without, or answered
        if self.flow.read_paused or cycle.waiting_for_100_continue:
            self._last_bytes = now  # the server holds the body up, not the client
            return None
        if now - self._last_bytes >= self._limits.body_seconds:
            return self._close(now, "with a stalled request body")
        return None

    def _close(self, now: float, reason: str) -> str:
        self._closed_at = now
        self.transport.close()
        return reason
