"""RedisBroker on its own (in this process, against a private ``redis-server``): the
two ways it notices what it may have missed, with its timers shortened."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from countersign.realtime import redis_broker
from countersign.realtime.hub import StreamHub
from countersign.realtime.redis_broker import RedisBroker
from countersign.realtime.signals import app_key
from countersign.vocabulary.stream import Signal, StreamItem

from .conftest import RedisProcess


class RecordingHub(StreamHub):
    def __init__(self) -> None:
        super().__init__()
        self.delivered: list[int] = []
        self.resyncs = 0

    def deliver(self, item: StreamItem) -> None:
        self.delivered.append(item.seq)

    def resync_all(self) -> None:
        self.resyncs += 1


def item(seq: int) -> StreamItem:
    return StreamItem("app", "contact", seq, "message.created", {"n": seq})


async def until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.02)

    try:
        await asyncio.wait_for(poll(), timeout)
    except TimeoutError:
        pytest.fail(f"{what}: not within {timeout}s")


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_a_subscription_that_goes_silent_is_replaced_and_the_hub_resyncs(
    private_redis: RedisProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hung Redis (or a dead link that never resets) leaves the subscription open but
    deaf: PINGs go unanswered, the broker subscribes anew, and resyncs once it is."""
    monkeypatch.setattr(redis_broker, "PING_SECONDS", 0.2)
    monkeypatch.setattr(redis_broker, "SILENCE_SECONDS", 0.6)

    async def scenario() -> None:
        hub = RecordingHub()
        broker = RedisBroker(private_redis.url, hub)
        await broker.start()
        try:
            await asyncio.wait_for(broker.connected.wait(), 5)
            assert hub.resyncs == 1  # every confirmed subscription checks the log
            private_redis.pause()
            await until(lambda: not broker.connected.is_set(), 5, "the silence was noticed")
            private_redis.resume()
            await asyncio.wait_for(broker.connected.wait(), 10)
            assert hub.resyncs == 2
        finally:
            private_redis.resume()
            await broker.close()

    run(scenario)


def test_events_dropped_while_a_publish_was_in_flight_are_announced(
    private_redis: RedisProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis stalls (shorter than a publish may take); meanwhile the outbox overflows and
    events are dropped. The stalled publish then succeeds, but the drop it did not carry
    must still reach the other nodes as a resync."""
    monkeypatch.setattr(redis_broker, "OUTBOX_MAX", 2)

    async def scenario() -> None:
        sender_hub, receiver_hub = RecordingHub(), RecordingHub()
        sender = RedisBroker(private_redis.url, sender_hub)
        receiver = RedisBroker(private_redis.url, receiver_hub)
        await sender.start()
        await receiver.start()
        try:
            await asyncio.wait_for(sender.connected.wait(), 5)
            await asyncio.wait_for(receiver.connected.wait(), 5)
            await sender.publish([item(1)])
            await until(lambda: receiver_hub.delivered == [1], 5, "the first event")
            resyncs = receiver_hub.resyncs

            private_redis.pause()
            await sender.publish([item(2)])  # taken by the publisher, stuck in flight
            await asyncio.sleep(0.1)
            for seq in (3, 4, 5):  # the third overflows the outbox of two
                await sender.publish([item(seq)])
            assert sender_hub.delivered == [1, 2, 3, 4, 5]  # this node's own: at once
            await asyncio.sleep(0.3)
            private_redis.resume()  # before the stuck publish times out

            await until(lambda: receiver_hub.resyncs > resyncs, 5, "a resync notice")
            assert receiver_hub.delivered[:2] == [1, 2]
            assert set(receiver_hub.delivered) <= {1, 2}
        finally:
            private_redis.resume()
            await sender.close()
            await receiver.close()

    run(scenario)


def test_a_typing_signal_reaches_the_other_node_beside_the_stream(
    private_redis: RedisProcess,
) -> None:
    """A signal crosses to the other node's listeners, never through its stream
    delivery (no seq to order or replay by), and takes no part in resyncs."""

    async def scenario() -> None:
        sender_hub, receiver_hub = RecordingHub(), RecordingHub()
        sender = RedisBroker(private_redis.url, sender_hub)
        receiver = RedisBroker(private_redis.url, receiver_hub)
        heard: list[Signal] = []
        here: list[Signal] = []
        receiver_hub.signals.listen(app_key("app"), heard.append)
        sender_hub.signals.listen(app_key("app"), here.append)
        await sender.start()
        await receiver.start()
        try:
            await asyncio.wait_for(sender.connected.wait(), 5)
            await asyncio.wait_for(receiver.connected.wait(), 5)
            resyncs = receiver_hub.resyncs
            data = {"conversation_id": "cnv_1", "author": {"type": "contact", "name": None}}
            typing = Signal("app", "contact", "team", "typing", data)
            await sender.signal(typing)
            assert here == [typing]  # this node's own listeners: at once
            await sender.publish([item(1)])
            await until(lambda: receiver_hub.delivered == [1], 5, "the stream event")
            await until(lambda: heard == [typing], 5, "the signal on the other node")
            assert sender_hub.delivered == [1]  # the signal was no stream event
            assert receiver_hub.resyncs == resyncs
        finally:
            await sender.close()
            await receiver.close()

    run(scenario)
