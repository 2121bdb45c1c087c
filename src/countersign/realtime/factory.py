"""The broker a node uses: in-process alone, Redis pub/sub when a Redis URL is set."""

from __future__ import annotations

from ..settings import Settings
from .broker import Broker, LocalBroker
from .hub import StreamHub


def make_broker(settings: Settings, hub: StreamHub) -> Broker:
    if settings.redis_url:
        from .redis_broker import RedisBroker  # noqa: PLC0415 (only scale-out needs redis)

        return RedisBroker(settings.redis_url, hub)
    return LocalBroker(hub)
