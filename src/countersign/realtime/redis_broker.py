"""Many nodes: stream events travel over one Redis pub/sub channel.

A node delivers its own events to its own widgets at once, then publishes them for
the others. If Redis is away, the node keeps serving (its own widgets still get
everything live); when Redis is back, every node's widgets resync from the stream
log, so what the others missed meanwhile arrives in order, once.
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
from redis.exceptions import RedisError

from ..storage.messaging import StreamItem
from .hub import StreamHub

log = logging.getLogger("countersign.realtime")

CHANNEL: Final = "countersign:stream"
RETRY_SECONDS: Final = (0.2, 0.5, 1.0, 2.0)


class _Envelope(msgspec.Struct):
    node: str
    items: list[dict[str, Any]]
    resync: bool = False


class RedisBroker:
    def __init__(self, url: str, hub: StreamHub) -> None:
        self._hub = hub
        self._node = secrets.token_hex(8)
        self._client = redis.Redis.from_url(
            url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=5
        )
        self._listener: asyncio.Task[None] | None = None
        self._publish_failed = False
        self.connected = asyncio.Event()

    async def start(self) -> None:
        self._listener = asyncio.create_task(self._listen())

    async def publish(self, items: Sequence[StreamItem]) -> None:
        for item in items:
            self._hub.deliver(item)
        envelope = _Envelope(
            self._node,
            [
                {
                    "app_id": i.app_id,
                    "contact_id": i.contact_id,
                    "seq": i.seq,
                    "type": i.type,
                    "data": i.data,
                }
                for i in items
            ],
            resync=self._publish_failed,
        )
        try:
            await self._client.publish(CHANNEL, msgspec.json.encode(envelope))
        except (RedisError, OSError) as error:
            if not self._publish_failed:
                log.warning("Redis publish failed (%s); other nodes will catch up", error)
            self._publish_failed = True
        else:
            self._publish_failed = False

    async def _listen(self) -> None:
        attempt = 0
        while True:
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(CHANNEL)
                if attempt:
                    log.info("Redis is back; widgets resync from the stream log")
                    self._hub.resync_all()
                attempt = 0
                self.connected.set()
                async for message in pubsub.listen():
                    self._receive(message.get("data"))
            except (RedisError, OSError) as error:
                self.connected.clear()
                if attempt == 0:
                    log.warning("lost Redis (%s); serving this node's widgets alone", error)
                await asyncio.sleep(RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)])
                attempt += 1
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

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
        if envelope.resync:
            self._hub.resync_all()
        for raw in envelope.items:
            try:
                self._hub.deliver(msgspec.convert(raw, StreamItem))
            except msgspec.ValidationError:
                log.warning("ignored a malformed stream item on %s", CHANNEL)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
        await self._client.aclose()
