"""A subscriber hands each event of its contact to the stream once, in ``seq`` order,
and reads the stream log whenever what it was offered cannot be trusted to be
complete; the hub routes events to the subscribers of their contact."""

from __future__ import annotations

import asyncio

from countersign.realtime.hub import MAX_QUEUED, StreamHub, Subscriber
from countersign.vocabulary.stream import StreamItem

CONTACT = "ct_one"


def item(seq: int, contact_id: str = CONTACT) -> StreamItem:
    return StreamItem("app_one", contact_id, seq, "message.created", {"n": seq})


class Log:
    """The stream log the subscriber falls back on: events 1..head, and every read."""

    def __init__(self, head: int) -> None:
        self.head = head
        self.reads: list[int] = []

    async def after(self, contact_id: str, since: int) -> list[StreamItem]:
        assert contact_id == CONTACT
        self.reads.append(since)
        return [item(seq) for seq in range(since + 1, self.head + 1)]


def drain(subscriber: Subscriber, log: Log) -> list[int]:
    """Everything the stream would send now, as its sender does: batches while there is
    work."""

    async def run() -> list[int]:
        sent: list[int] = []
        while subscriber.has_work:
            sent += [event.seq for event in await subscriber.next_batch(log.after)]
        return sent

    return asyncio.run(run())


def test_offered_events_are_sent_once_in_order_without_reading_the_log() -> None:
    wakes: list[int] = []
    subscriber = Subscriber(CONTACT, 2, lambda: wakes.append(1))
    log = Log(head=5)
    for seq in (1, 2, 3, 3, 4, 5):  # committed before ``ready``, then live, one twice
        subscriber.offer(item(seq))
    assert len(wakes) == 6  # the stream hears of every offer
    assert drain(subscriber, log) == [3, 4, 5]
    assert log.reads == []
    assert subscriber.last_seq == 5
    assert not subscriber.has_work
    assert asyncio.run(subscriber.next_batch(log.after)) == []


def test_a_gap_is_filled_from_the_log_before_anything_after_it() -> None:
    subscriber = Subscriber(CONTACT, 0)
    log = Log(head=4)
    for seq in (1, 3, 2, 4):  # another node's event overtook this one's
        subscriber.offer(item(seq))
    assert drain(subscriber, log) == [1, 2, 3, 4]
    assert log.reads == [0, 4]  # then one empty read: the log is drained
    subscriber.offer(item(4))  # late duplicate
    subscriber.offer(item(5))
    log.head = 5
    assert drain(subscriber, log) == [5]


def test_a_resync_reads_the_log_from_the_last_event_sent() -> None:
    subscriber = Subscriber(CONTACT, 0)
    log = Log(head=3)
    subscriber.offer(item(1))
    assert drain(subscriber, log) == [1]
    subscriber.offer(item(2))
    subscriber.offer(None)  # e.g. the broker was down: 3 was never offered
    assert drain(subscriber, log) == [2, 3]
    assert log.reads == [1, 3]  # then one empty read: the log is drained


def test_a_subscriber_too_far_behind_catches_up_from_the_log() -> None:
    subscriber = Subscriber(CONTACT, 0)
    total = MAX_QUEUED + 10
    log = Log(head=total)
    for seq in range(1, total + 1):
        subscriber.offer(item(seq))
    assert drain(subscriber, log) == list(range(1, total + 1))
    assert log.reads == [0, total]  # then one empty read: the log is drained


def test_an_offer_during_a_log_read_is_sent_after_it_once() -> None:
    subscriber = Subscriber(CONTACT, 0)
    log = Log(head=2)

    async def slow_read(contact_id: str, since: int) -> list[StreamItem]:
        subscriber.offer(item(2))  # delivered live while the log is being read
        subscriber.offer(item(3))
        log.head = 3
        await asyncio.sleep(0)
        return await log.after(contact_id, since)

    async def run() -> list[int]:
        subscriber.offer(None)
        sent = [event.seq for event in await subscriber.next_batch(slow_read)]
        while subscriber.has_work:
            sent += [event.seq for event in await subscriber.next_batch(log.after)]
        return sent

    assert asyncio.run(run()) == [1, 2, 3]


def test_the_hub_offers_an_event_to_every_subscriber_of_its_contact_only() -> None:
    hub = StreamHub()
    tab, phone = Subscriber(CONTACT, 0), Subscriber(CONTACT, 0)
    other = Subscriber("ct_other", 0)
    leave_tab = hub.subscribe(tab)
    hub.subscribe(phone)
    hub.subscribe(other)
    assert hub.connection_count == 3
    hub.deliver(item(1))
    log = Log(head=1)
    assert drain(tab, log) == drain(phone, log) == [1]
    assert not other.has_work
    leave_tab()
    hub.deliver(item(2))
    assert not tab.has_work
    assert phone.has_work
    assert hub.connection_count == 2


def test_an_event_offered_during_an_empty_log_read_is_not_lost() -> None:
    subscriber = Subscriber(CONTACT, 2)
    subscriber.offer(None)  # resync: the log is read

    async def read_that_sees_nothing_yet(contact_id: str, since: int) -> list[StreamItem]:
        subscriber.offer(item(3))  # committed and offered while the read runs
        return []

    assert asyncio.run(subscriber.next_batch(read_that_sees_nothing_yet)) == []
    assert subscriber.has_work  # event 3 is still owed
    assert [event.seq for event in asyncio.run(subscriber.next_batch(Log(head=3).after))] == [3]
