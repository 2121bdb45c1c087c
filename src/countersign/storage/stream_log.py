"""The per-contact stream log: every change a widget should see live.

Written together with the change in the same transaction, numbered by the contact's
``stream_seq``. Delivery (pub/sub) is best effort; this log is the truth a reconnecting
widget replays from."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from ..vocabulary.stream import StreamItem
from .models import (
    Contact,
    StreamEvent,
)


def append_stream_event(
    connection: Connection,
    app_id: str,
    contact_id: str,
    type_: str,
    data: dict[str, Any],
    now: datetime,
) -> StreamItem:
    """Number and store one stream event of ``contact_id`` (call inside the change's
    transaction). The row lock of the contact's counter serialises concurrent writers."""
    seq = connection.execute(
        update(Contact)
        .where(Contact.id == contact_id)
        .values(stream_seq=Contact.stream_seq + 1)
        .returning(Contact.stream_seq)
    ).scalar_one()
    connection.execute(
        insert(StreamEvent).values(
            app_id=app_id, contact_id=contact_id, seq=seq, type=type_, data=data, created_at=now
        )
    )
    return StreamItem(app_id, contact_id, int(seq), type_, data)


def latest_seq(connection: Connection, contact_id: str) -> int:
    seq = connection.execute(
        select(Contact.stream_seq).where(Contact.id == contact_id)
    ).scalar_one_or_none()
    return int(seq or 0)


def stream_after(
    connection: Connection, contact_id: str, since: int, limit: int = 500
) -> list[StreamItem]:
    """The contact's stream events with ``seq > since``, in order."""
    rows = connection.execute(
        select(
            StreamEvent.app_id,
            StreamEvent.contact_id,
            StreamEvent.seq,
            StreamEvent.type,
            StreamEvent.data,
        )
        .where(StreamEvent.contact_id == contact_id, StreamEvent.seq > since)
        .order_by(StreamEvent.seq)
        .limit(limit)
    )
    return [StreamItem(r.app_id, r.contact_id, int(r.seq), r.type, r.data) for r in rows]


# Conversations -------------------------------------------------------------------
