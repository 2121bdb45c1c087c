"""Live-only signals (typing) on one node: who listens for a contact's, or an app's.

Kept apart from the subscribers of :mod:`.hub` on purpose: those deliver ``seq``'d
events in order, exactly once, resyncing from the log on any gap; a signal has no
``seq`` and must never reach that machinery (mixed in, a seq-less item reads as a gap
or is dropped as already sent). Here a signal goes to its listeners and is forgotten.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable

from ..vocabulary.stream import Signal

log = logging.getLogger("countersign.realtime")

Listener = Callable[[Signal], None]


def contact_key(contact_id: str) -> str:
    return "contact:" + contact_id


def app_key(app_id: str) -> str:
    return "app:" + app_id


def _key_of(signal: Signal) -> str:
    return contact_key(signal.contact_id) if signal.to == "contact" else app_key(signal.app_id)


class SignalBoard:
    def __init__(self) -> None:
        self._listeners: dict[str, set[Listener]] = defaultdict(set)

    def listen(self, key: str, listener: Listener) -> Callable[[], None]:
        """``listener(signal)`` for every signal to ``key`` (:func:`contact_key`,
        :func:`app_key`); returns the way to stop."""
        self._listeners[key].add(listener)

        def stop() -> None:
            listeners = self._listeners.get(key)
            if listeners is not None:
                listeners.discard(listener)
                if not listeners:
                    del self._listeners[key]

        return stop

    def deliver(self, signal: Signal) -> None:
        for listener in tuple(self._listeners.get(_key_of(signal), ())):
            try:
                listener(signal)
            except Exception:
                log.exception("a signal listener failed")
