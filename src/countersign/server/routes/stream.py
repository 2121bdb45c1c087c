"""GET /v1/widget/stream: a WebSocket of the session contact's live events.

The token comes in the first message, never the URL (URLs end up in logs):
``{"token": "<session_token>", "since": <last seq seen, or null>}``. The server answers
``{"type": "ready", "seq": <latest>}``, replays what came after ``since``, then sends
each new event as ``{"type", "data", "seq"}``. A bad token closes with 4401, and so
does a session that ends while connected:

- logout or a change of identity in that browser: at once on the node that handled it
  (before it answers, so no event of the old identity follows), and on the others as
  soon as the broker brings the word (``Broker.end_visitors``);
- a change to the app's secrets (a revocation): when the node's app directory sees the
  app's version move, about a second, on every node;
- anything else (expiry, a secret that expires): within ``SESSION_RECHECK_SECONDS``.

Built for many idle widgets per node (``benchmarks/fanout.py``, SPEC section 9): an
idle stream holds no task of its own, sessions are rechecked in bulk, and an event
is encoded once for all the widgets it goes to.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Final

from fastapi import APIRouter
from sqlalchemy import Connection
from starlette.websockets import WebSocket, WebSocketDisconnect

from ...metrics import OPEN_STREAMS, STREAM_EVENTS
from ...realtime.hub import SessionEnd, StreamHub, Subscriber
from ...realtime.signals import contact_key
from ...storage import identities, stream_log
from ...vocabulary.clock import utcnow
from ...vocabulary.stream import Signal, StreamItem
from ..sessions import SessionView, has_ended, open_session
from ..state import ServerState

router = APIRouter(tags=["widget"])
log = logging.getLogger("countersign.server")

HELLO_TIMEOUT_SECONDS: Final = 10.0
SESSION_RECHECK_SECONDS: Final = 15.0
SWEEP_CHUNK: Final = 64  # sessions per transaction: ~2 ms of the event loop on SQLite
MAX_SIGNALS: Final = 16  # typing signals waiting for one stream; more are dropped
CLOSE_BAD_HELLO: Final = 4400
CLOSE_UNAUTHORIZED: Final = 4401
CLOSE_ORIGIN: Final = 4403
CLOSE_INTERNAL: Final = 1011


def _hello(text: str) -> tuple[str, int | None] | None:
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(message, dict):
        return None
    token, since = message.get("token"), message.get("since")
    if not isinstance(token, str) or not 0 < len(token) <= 200:
        return None
    if since is not None and (isinstance(since, bool) or not isinstance(since, int) or since < 0):
        return None
    return token, since


async def stream(websocket: WebSocket) -> None:
    state: ServerState = websocket.app.state.countersign
    await websocket.accept()
    try:
        hello = _hello(await asyncio.wait_for(websocket.receive_text(), HELLO_TIMEOUT_SECONDS))
    except (TimeoutError, WebSocketDisconnect, KeyError, RuntimeError):
        hello = None
    if hello is None:
        await _close(websocket, CLOSE_BAD_HELLO)
        return
    token, since = hello
    session = await open_session(state, token)
    if session is None:
        await _close(websocket, CLOSE_UNAUTHORIZED)
        return
    config = await state.directory.get(session.app_id)
    if config is None or not config.allows_origin(websocket.headers.get("origin")):
        await _close(websocket, CLOSE_ORIGIN)
        return

    # Subscribe before reading the latest seq, so nothing committed in between is lost
    # (anything delivered twice is dropped by seq).
    live = _LiveStream(websocket, state, session)
    sweep = _sweep_of(state)
    unsubscribe = live.unsubscribe = state.hub.subscribe(live.subscriber)
    # Typing: beside the subscriber, never through it (it has no seq).
    stop_signals = state.hub.signals.listen(contact_key(session.contact_id), live.on_signal)
    OPEN_STREAMS.inc()
    try:

        def latest(connection: Connection) -> int:
            return stream_log.latest_seq(connection, session.contact_id)

        head = await state.backend.database.run(latest)
        start = head if since is None else min(since, head)
        live.subscriber.last_seq = start
        sweep.add(live)  # from here, the end of the session closes this stream
        if live.cut_off:
            return
        await websocket.send_text(json.dumps({"type": "ready", "seq": head}))
        if start < head:
            live.subscriber.offer(None)  # replay (start, head] from the log
        live.start()
        await live.hold()
    except (WebSocketDisconnect, RuntimeError, ConnectionError):
        pass
    finally:
        OPEN_STREAMS.dec()
        sweep.discard(live)
        unsubscribe()
        stop_signals()
        await live.stop()


# A plain Starlette route: FastAPI's WebSocket route adds dependency solving and two
# exit stacks that stay alive, ~4 KiB per connected widget, for nothing this uses.
router.add_websocket_route("/v1/widget/stream", stream, name="widget_stream")


class _LiveStream:
    """A widget's stream once ``ready`` is sent.

    At rest it is this object, its subscriber and the request's own coroutine waiting
    for the client to speak or leave. The task that sends exists only while there is
    something to send: a standing reader task, a pump task and an ``asyncio.wait`` per
    event cost ~8 KiB per idle widget and most of the fan-out's CPU (measured with
    ``benchmarks/fanout.py``). One sender at a time keeps the events in order.
    """

    __slots__ = (
        "_closing",
        "_loop",
        "_sender",
        "_signals",
        "_started",
        "_state",
        "_websocket",
        "cut_off",
        "session",
        "subscriber",
        "unsubscribe",
    )

    def __init__(self, websocket: WebSocket, state: ServerState, session: SessionView) -> None:
        self._websocket = websocket
        self._state = state
        self._loop = asyncio.get_running_loop()
        self._sender: asyncio.Task[None] | None = None
        self._closing: asyncio.Task[None] | None = None
        self._signals: list[str] | None = None  # encoded typing signals to send
        self._started = False  # nothing may overtake ``ready``
        self.cut_off = False  # the session ended: nothing more is sent
        self.session = session
        self.subscriber = Subscriber(session.contact_id, 0, self._wake)
        self.unsubscribe: Callable[[], None] = _nothing

    def start(self) -> None:
        self._started = not self.cut_off
        self._wake()

    @property
    def _has_work(self) -> bool:
        return self.subscriber.has_work or bool(self._signals)

    def _wake(self) -> None:
        if self._started and self._sender is None and self._has_work:
            self._sender = self._loop.create_task(self._send_pending())

    def on_signal(self, signal: Signal) -> None:
        """A live-only signal (typing): sent by the same one sender, so it never
        overtakes ``ready`` or goes out after the stream was cut; dropped if this
        stream is far behind (a stale "typing" is worth nothing)."""
        if not self._started:
            return
        if self._signals is None:
            self._signals = []
        if len(self._signals) < MAX_SIGNALS:
            self._signals.append(json.dumps(signal.wire()))
        self._wake()

    def cut(self) -> None:
        """The session ended: from this moment nothing more is sent, then the socket
        closes with 4401. Synchronous, so that the request that ended the session
        (logout, identify as someone else) answers only after its streams went quiet."""
        if self.cut_off:
            return
        self.cut_off = True
        self._started = False
        self.unsubscribe()
        self._closing = self._loop.create_task(_close(self._websocket, CLOSE_UNAUTHORIZED))

    async def _fetch_after(self, contact_id: str, since: int) -> list[StreamItem]:
        database = self._state.backend.database
        return await database.run(lambda c: stream_log.stream_after(c, contact_id, since))

    async def _send_pending(self) -> None:
        try:
            while self._started and self._has_work:
                signals, self._signals = self._signals, None
                for text in signals or ():
                    await self._websocket.send_text(text)
                if not self.subscriber.has_work:
                    continue
                for item in await self.subscriber.next_batch(self._fetch_after):
                    if not self._started:
                        return  # cut off while the batch was read
                    await self._websocket.send_text(_wire_text(item))
                    STREAM_EVENTS.inc()
        except (WebSocketDisconnect, RuntimeError, ConnectionError):
            pass  # the client left; ``hold`` sees it too
        except Exception:
            # The client may reconnect with ``since`` and catch up from the log.
            log.exception("a widget stream failed to send")
            await _close(self._websocket, CLOSE_INTERNAL)
        finally:
            self._sender = None

    async def hold(self) -> None:
        """Read (and ignore) what the client sends, so a disconnect is noticed at once;
        return when it leaves, or when the session sweep closes the stream."""
        while True:
            message = await self._websocket.receive()
            if message["type"] == "websocket.disconnect":
                return

    async def stop(self) -> None:
        self._started = False
        sender = self._sender
        if sender is not None:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender


class _SessionSweep:
    """Every ``SESSION_RECHECK_SECONDS``, rechecks the session of every widget stream of
    one server, a chunk of sessions per transaction, and closes with 4401 the streams
    whose session was revoked or has expired.

    A timer and a transaction per stream cost a third of a core at 10,000 idle widgets
    (``benchmarks/fanout.py``); a chunk of reads in one transaction costs the reads.
    The task runs only while the server has streams, so it needs no lifespan hook.
    """

    def __init__(self, state: ServerState) -> None:
        self._database = state.backend.database
        self._streams: dict[str, set[_LiveStream]] = {}
        self._task: asyncio.Task[None] | None = None
        self._rechecks: set[asyncio.Task[None]] = set()
        state.hub.watch_endings(self.end_sessions)

    def add(self, live: _LiveStream) -> None:
        self._streams.setdefault(live.session.visitor_id, set()).add(live)
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.get_loop() is not loop:
            self._task = loop.create_task(self._run())

    def discard(self, live: _LiveStream) -> None:
        visitor_id = live.session.visitor_id
        streams = self._streams.get(visitor_id)
        if streams is not None:
            streams.discard(live)
            if not streams:
                del self._streams[visitor_id]
        if not self._streams and self._task is not None:
            self._task.cancel()
            self._task = None

    def end_sessions(self, ended: Sequence[SessionEnd]) -> None:
        """These sessions ended (logout, another identity): cut their streams on this
        node now (the hub calls this, with this node's news and the other nodes')."""
        for visitor_id, epoch in ended:
            for live in tuple(self._streams.get(visitor_id, ())):
                if live.session.epoch <= epoch:
                    live.cut()

    def recheck_apps(self, app_ids: Iterable[str]) -> None:
        """Recheck now the sessions of these apps' streams (their secrets changed)."""
        wanted = set(app_ids)
        visitor_ids = [
            visitor_id
            for visitor_id, streams in self._streams.items()
            if any(live.session.app_id in wanted for live in streams)
        ]
        if visitor_ids:
            task = asyncio.get_running_loop().create_task(self._recheck(visitor_ids))
            self._rechecks.add(task)
            task.add_done_callback(self._rechecks.discard)

    async def _recheck(self, visitor_ids: Sequence[str]) -> None:
        for start in range(0, len(visitor_ids), SWEEP_CHUNK):
            chunk = visitor_ids[start : start + SWEEP_CHUNK]
            try:
                browsers = await self._database.run(
                    functools.partial(identities.browser_sessions, visitor_ids=chunk)
                )
            except Exception:
                log.exception("rechecking widget stream sessions failed")
                continue  # keep the streams; the next sweep tries again
            now = utcnow()
            current = {browser.visitor_id: browser for browser in browsers}
            for visitor_id in chunk:
                for live in tuple(self._streams.get(visitor_id, ())):
                    if has_ended(live.session, current.get(visitor_id), now):
                        live.cut()
            # SQLite runs on the event loop: let deliveries through between chunks.
            await asyncio.sleep(0)

    async def _run(self) -> None:
        while True:
            # Read at each turn, not bound once: tests shorten it.
            await asyncio.sleep(SESSION_RECHECK_SECONDS)
            await self._recheck(list(self._streams))


# One sweep per server (per hub: tests run several apps in one process), made on its
# first stream.
_SWEEPS: weakref.WeakKeyDictionary[StreamHub, _SessionSweep] = weakref.WeakKeyDictionary()


def _sweep_of(state: ServerState) -> _SessionSweep:
    sweep = _SWEEPS.get(state.hub)
    if sweep is None:
        sweep = _SWEEPS[state.hub] = _SessionSweep(state)
    return sweep


def recheck_app_streams(state: ServerState, app_ids: Iterable[str]) -> None:
    """Recheck the sessions of these apps' open streams now (a secret was revoked)."""
    sweep = _SWEEPS.get(state.hub)
    if sweep is not None:
        sweep.recheck_apps(app_ids)


def _nothing() -> None:
    return None


# Every widget of a contact is sent the same event object: encode it once, not once per
# widget. Identity, not equality, is the key (the items hold dicts; they don't hash), and
# holding the item keeps its id from being reused while it is cached.
_ENCODED: dict[int, tuple[StreamItem, str]] = {}
_ENCODED_MAX: Final = 64


def _wire_text(item: StreamItem) -> str:
    cached = _ENCODED.get(id(item))
    if cached is not None and cached[0] is item:
        return cached[1]
    text = json.dumps(item.wire(), default=str)
    if len(_ENCODED) >= _ENCODED_MAX:
        del _ENCODED[next(iter(_ENCODED))]  # the oldest
    _ENCODED[id(item)] = (item, text)
    return text


async def _close(websocket: WebSocket, code: int) -> None:
    with contextlib.suppress(Exception):
        await websocket.close(code)
