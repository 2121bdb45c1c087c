"""Many nodes: stream events travel over one Redis pub/sub channel.

A node delivers its own events to its own widgets at once, then hands them to a
publisher task for the others: a request never waits on Redis. If Redis is away —
refusing connections, or hung and answering nothing — the node keeps serving (its own
widgets still get everything live) and the events it could not publish stay in the
stream log. When Redis answers again, two things make every other node's widgets catch
up from the log, in order and once, even if nothing new is ever posted:

- the publisher keeps trying to send a *resync notice* until one gets through, and
- each node's subscription proves itself with a PING every few seconds; a silent one
  is torn down and made again, and every confirmed (re)subscription resyncs the hub.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Sequence
from typing import Any, Final

import msgspec
import redis.asyncio as redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from ..vocabulary.stream import Signal, StreamItem
from .hub import SessionEnd, StreamHub

log = logging.getLogger("countersign.realtime")

CHANNEL: Final = "countersign:stream"
RETRY_SECONDS: Final = (0.2, 0.5, 1.0, 2.0)
# One publish may take this long; a hung Redis must not hold events (or requests) back.
PUBLISH_TIMEOUT_SECONDS: Final = 1.0
# Events waiting for the publisher; past this, they are dropped (the log has them) and
# the other nodes are told to resync instead.
OUTBOX_MAX: Final = 1024
# The subscription PINGs this often, and counts as dead after this long without a word.
PING_SECONDS: Final = 2.0
SILENCE_SECONDS: Final = 5.0

_UNAVAILABLE: Final = (RedisError, OSError, TimeoutError)


class _Envelope(msgspec.Struct):
    node: str
    items: list[dict[str, Any]]
    resync: bool = False
    ended: list[SessionEnd] = []  # sessions that ended: close their streams
    signals: list[dict[str, Any]] = []  # live-only (typing): no seq, never replayed


# What the publisher sends: stream items, ended sessions, signals (each as a list).
_Outgoing = tuple[list[dict[str, Any]], list[SessionEnd], list[dict[str, Any]]]


def _wire(item: StreamItem) -> dict[str, Any]:
    return {
        "app_id": item.app_id,
        "contact_id": item.contact_id,
        "seq": item.seq,
        "type": item.type,
        "data": item.data,
    }


class RedisBroker:
    def __init__(self, url: str, hub: StreamHub) -> None:
        self._hub = hub
        self._node = secrets.token_hex(8)
        self._client = redis.Redis.from_url(
            url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=5
        )
        # Each entry: stream items, visitor ids whose streams must close, and signals.
        self._outbox: asyncio.Queue[_Outgoing] = asyncio.Queue(OUTBOX_MAX)
        self._tasks: list[asyncio.Task[None]] = []
        # Counts of events lost to publishing, and of those the other nodes were told
        # about: while they differ, the next envelope that gets through says "resync".
        self._losses = 0
        self._announced = 0
        self.connected = asyncio.Event()  # subscribed and heard from

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen(), name="countersign-redis-listen"),
            asyncio.create_task(self._publish_forever(), name="countersign-redis-publish"),
        ]

    async def publish(self, items: Sequence[StreamItem]) -> None:
        """Deliver to this node's widgets now; queue for the others (never waits)."""
        for item in items:
            self._hub.deliver(item)
        if not items:
            return
        try:
            self._outbox.put_nowait(([_wire(item) for item in items], [], []))
        except asyncio.QueueFull:
            self._failed("too many events waiting for Redis")

    async def end_sessions(self, ended: Sequence[SessionEnd]) -> None:
        """Close this node's streams of these sessions now; queue the word for the
        others. Only a full outbox (Redis away) loses it, and then the other nodes'
        session sweeps close those streams at their next turn."""
        self._hub.end_sessions(ended)
        if not ended:
            return
        with contextlib.suppress(asyncio.QueueFull):
            self._outbox.put_nowait(([], list(ended), []))

    async def signal(self, signal: Signal) -> None:
        """Deliver to this node's listeners now; queue for the others. A full outbox
        drops it quietly: a signal is not in the log, so there is nothing to resync."""
        self._hub.signals.deliver(signal)
        raw = {
            "app_id": signal.app_id,
            "contact_id": signal.contact_id,
            "to": signal.to,
            "type": signal.type,
            "data": signal.data,
        }
        with contextlib.suppress(asyncio.QueueFull):
            self._outbox.put_nowait(([], [], [raw]))

    # Publishing ------------------------------------------------------------------

    @property
    def _behind(self) -> bool:
        return self._losses != self._announced

    async def _publish_forever(self) -> None:
        attempt = 0
        while True:
            ended: list[SessionEnd] = []
            signals: list[dict[str, Any]] = []
            if self._behind and self._outbox.empty():
                items: list[dict[str, Any]] = []  # a bare resync notice
            else:
                items, ended, signals = await self._outbox.get()
            losses = self._losses
            envelope = _Envelope(
                self._node,
                items,
                resync=losses != self._announced,
                ended=ended,
                signals=signals,
            )
            try:
                async with asyncio.timeout(PUBLISH_TIMEOUT_SECONDS):
                    await self._client.publish(CHANNEL, msgspec.json.encode(envelope))
            except _UNAVAILABLE as error:
                self._failed(f"Redis publish failed ({str(error) or type(error).__name__})")
                await asyncio.sleep(RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)])
                attempt += 1
            except Exception:
                log.exception("the Redis publisher failed; other nodes will catch up")
                self._failed("")
                await asyncio.sleep(RETRY_SECONDS[-1])
            else:
                if envelope.resync:
                    log.info("Redis publishes again; the other nodes resync from the log")
                self._announced = losses  # losses since then still need a notice
                attempt = 0

    def _failed(self, reason: str) -> None:
        """Drop what waits (it is all in the stream log) and remember to send a resync."""
        if not self._behind and reason:
            log.warning("%s; other nodes will catch up from the stream log", reason)
        self._losses += 1
        while not self._outbox.empty():
            self._outbox.get_nowait()

    # Subscribing -----------------------------------------------------------------

    async def _listen(self) -> None:
        attempt = 0
        while True:
            pubsub = self._client.pubsub()
            try:
                await self._follow(pubsub)
            except _UNAVAILABLE as error:
                if self.connected.is_set() or attempt == 0:
                    log.warning(
                        "lost Redis (%s); serving this node's widgets alone",
                        str(error) or type(error).__name__,
                    )
            except Exception:
                log.exception("the Redis subscription failed; subscribing again")
            finally:
                if self.connected.is_set():
                    attempt = 0  # a new outage: retry quickly again
                self.connected.clear()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)])
            attempt += 1

    async def _follow(self, pubsub: PubSub) -> None:
        """Subscribe and hand every envelope to the hub until Redis goes quiet."""
        loop = asyncio.get_running_loop()
        await pubsub.subscribe(CHANNEL)
        heard = pinged = loop.time()
        while True:
            message = await pubsub.get_message(timeout=PING_SECONDS)
            now = loop.time()
            if message is not None:
                heard = now
                kind = message.get("type")
                if kind == "message":
                    self._receive(message.get("data"))
                elif kind == "subscribe" and not self.connected.is_set():
                    # Subscribed for real now: whatever was published before this
                    # moment may have been missed, so every widget checks the log.
                    self.connected.set()
                    log.info("subscribed to Redis; widgets resync from the stream log")
                    self._hub.resync_all()
            if now - heard > SILENCE_SECONDS:
                raise TimeoutError(f"Redis said nothing for {SILENCE_SECONDS:.0f}s")
            if now - pinged >= PING_SECONDS:
                pinged = now
                await pubsub.ping()

    def _receive(self, payload: object) -> None:
        if not isinstance(payload, bytes):
            return
        try:
            envelope = msgspec.json.decode(payload, type=_Envelope)
        except msgspec.DecodeError:
            log.warning("ignored a malformed message on %s", CHANNEL)
            return
        if envelope.node == self._node:
            return
        if envelope.ended:
            self._hub.end_sessions(envelope.ended)
        if envelope.resync:
            self._hub.resync_all()
        for raw in envelope.items:
            try:
                self._hub.deliver(msgspec.convert(raw, StreamItem))
            except msgspec.ValidationError:
                log.warning("ignored a malformed stream item on %s", CHANNEL)
        for raw in envelope.signals:
            try:
                self._hub.signals.deliver(msgspec.convert(raw, Signal))
            except msgspec.ValidationError:
                log.warning("ignored a malformed signal on %s", CHANNEL)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        await self._client.aclose()
