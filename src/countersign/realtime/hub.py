"""The widgets connected to this node, and how an event reaches each of them."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Final

from ..vocabulary.stream import StreamItem
from .signals import SignalBoard

log = logging.getLogger("countersign.realtime")

# A subscriber that falls this far behind resyncs from the log instead of queueing.
MAX_QUEUED: Final = 256

FetchAfter = Callable[[str, int], Awaitable[list[StreamItem]]]


def _nothing() -> None:
    return None


class Subscriber:
    """One live stream: delivers a contact's events in ``seq`` order, exactly once.

    ``offer`` is called for every event of the contact, from this node or another,
    possibly twice or out of order. It only records the event and calls ``wake``; the
    stream then calls ``next_batch`` while ``has_work``. Anything at or below ``last_seq``
    is dropped, and a gap is filled from the stream log before anything after it is
    sent. Nothing here waits: an idle stream is this object and no task (see
    ``benchmarks/fanout.py``: thousands of idle widgets per node).
    """

    __slots__ = ("_gap", "_pending", "_wake", "contact_id", "last_seq")

    def __init__(self, contact_id: str, last_seq: int, wake: Callable[[], None] = _nothing) -> None:
        self.contact_id = contact_id
        self.last_seq = last_seq
        self._wake = wake
        # Most streams are idle: no container until an event comes (an empty
        # asyncio.Queue is four deques, ~3 KiB).
        self._pending: list[StreamItem] | None = None
        self._gap = False

    def offer(self, item: StreamItem | None) -> None:
        """Hand over an event (``None``: something may have been missed; resync)."""
        if item is None:
            self._gap = True
            self._pending = None  # the log has all of it
        elif not self._gap:
            if self._pending is None:
                self._pending = [item]
            elif len(self._pending) < MAX_QUEUED:
                self._pending.append(item)
            else:
                self._gap = True  # the log has everything; catch up from there
                self._pending = None
        self._wake()

    @property
    def has_work(self) -> bool:
        """Whether ``next_batch`` has something to do."""
        return self._gap or bool(self._pending)

    async def next_batch(self, fetch_after: FetchAfter) -> list[StreamItem]:
        """The events to send now, in order, never one already sent (empty if none)."""
        pending, self._pending = self._pending, None
        batch: list[StreamItem] = []
        if pending and not self._gap:
            expected = self.last_seq + 1
            for item in pending:
                if item.seq < expected:
                    continue  # already sent (or offered twice)
                if item.seq > expected:
                    self._gap = True  # out of order or missed: the log decides
                    break
                batch.append(item)
                expected += 1
        if self._gap:
            # Cleared before the read: an event offered while it runs is then kept (or
            # sets the gap again), never lost to a read that began before it.
            self._gap = False
            batch = await fetch_after(self.contact_id, self.last_seq)
            if batch:
                # The log is read a page at a time: read again until a read comes back
                # empty, so a long replay is sent whole (one extra, empty read).
                self._gap = True
        fresh = [event for event in batch if event.seq > self.last_seq]
        if fresh:
            self.last_seq = fresh[-1].seq
        return fresh


SessionEnd = tuple[str, int]  # a browser's visitor id, and the last epoch that ended
EndSessions = Callable[[Sequence[SessionEnd]], None]


class StreamHub:
    """Subscribers by contact (widgets) and by app (operators' dashboards), and who
    closes a browser's streams when its session ends (logout, another identity)."""

    def __init__(self) -> None:
        self._by_contact: dict[str, set[Subscriber]] = defaultdict(set)
        self._by_app: dict[str, set[Callable[[StreamItem], None]]] = defaultdict(set)
        self._enders: set[EndSessions] = set()
        # Typing and other seq-less signals: their own listeners, never a Subscriber.
        self.signals = SignalBoard()

    def watch_endings(self, callback: EndSessions) -> Callable[[], None]:
        """``callback(ended)`` whenever browsers' sessions end."""
        self._enders.add(callback)
        return lambda: self._enders.discard(callback)

    def end_sessions(self, ended: Sequence[SessionEnd]) -> None:
        """These sessions ended (each: a browser, and every epoch of it up to the one
        given): their streams must send nothing more."""
        for callback in tuple(self._enders):
            try:
                callback(ended)
            except Exception:
                log.exception("closing ended streams failed")

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        self._by_contact[subscriber.contact_id].add(subscriber)

        def unsubscribe() -> None:
            subscribers = self._by_contact.get(subscriber.contact_id)
            if subscribers is not None:
                subscribers.discard(subscriber)
                if not subscribers:
                    del self._by_contact[subscriber.contact_id]

        return unsubscribe

    def watch_app(self, app_id: str, callback: Callable[[StreamItem], None]) -> Callable[[], None]:
        """Every event of ``app_id``'s contacts, live only (for operators)."""
        self._by_app[app_id].add(callback)

        def unwatch() -> None:
            watchers = self._by_app.get(app_id)
            if watchers is not None:
                watchers.discard(callback)
                if not watchers:
                    del self._by_app[app_id]

        return unwatch

    def deliver(self, item: StreamItem) -> None:
        for subscriber in self._by_contact.get(item.contact_id, ()):
            subscriber.offer(item)
        for callback in tuple(self._by_app.get(item.app_id, ())):
            try:
                callback(item)
            except Exception:
                log.exception("an app watcher failed")

    def resync_all(self) -> None:
        """Tell every subscriber it may have missed events (e.g. the broker was down)."""
        for subscribers in self._by_contact.values():
            for subscriber in subscribers:
                subscriber.offer(None)

    def contact_ids(self) -> set[str]:
        """The contacts with a widget stream open on this node."""
        return set(self._by_contact)

    def has_contact(self, contact_id: str) -> bool:
        return contact_id in self._by_contact

    @property
    def connection_count(self) -> int:
        return sum(len(subscribers) for subscribers in self._by_contact.values())
