"""The live stream's event record: what storage logs, realtime moves and the stream
endpoint sends. Here, not in storage, so that realtime never imports storage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class StreamItem:
    """One event of a contact's stream: what live delivery and replay both send."""

    app_id: str
    contact_id: str
    seq: int
    type: str
    data: dict[str, Any]

    def wire(self) -> dict[str, Any]:
        return {"type": self.type, "data": self.data, "seq": self.seq}


@dataclass(frozen=True, slots=True)
class Signal:
    """A live-only word (``typing``): never stored, no ``seq``, lost if nobody listens.

    It travels beside the stream, never in it: a subscriber's ``seq`` order and its
    replay from the log know nothing of signals (realtime.signals)."""

    app_id: str
    contact_id: str
    to: str  # "contact": the contact's sessions; "team": the app's dashboards
    type: str
    data: dict[str, Any]

    def wire(self) -> dict[str, Any]:
        return {"type": self.type, "data": self.data}
