"""How an event reaches the other nodes. One node needs nothing but itself."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ..vocabulary.stream import Signal, StreamItem
from .hub import SessionEnd, StreamHub


class Broker(Protocol):
    """Publishes committed stream events to every node's hub, this one included."""

    async def start(self) -> None: ...

    async def publish(self, items: Sequence[StreamItem]) -> None: ...

    async def end_sessions(self, ended: Sequence[SessionEnd]) -> None:
        """Close every node's streams of these sessions (logout, another identity):
        this node's before it returns, the others' as soon as they hear of it."""

    async def signal(self, signal: Signal) -> None:
        """Deliver a live-only signal (typing) on every node, best effort: never
        stored, never waits, lost when the link between nodes is down."""

    async def close(self) -> None: ...


class LocalBroker:
    """One node: an event goes straight to this node's hub."""

    def __init__(self, hub: StreamHub) -> None:
        self._hub = hub

    async def start(self) -> None:
        return None

    async def publish(self, items: Sequence[StreamItem]) -> None:
        for item in items:
            self._hub.deliver(item)

    async def end_sessions(self, ended: Sequence[SessionEnd]) -> None:
        self._hub.end_sessions(ended)

    async def signal(self, signal: Signal) -> None:
        self._hub.signals.deliver(signal)

    async def close(self) -> None:
        return None
