"""The per-contact stream log: every change a widget should see live.

Written together with the change in the same transaction, numbered by the contact's
``stream_seq``. Delivery (pub/sub) is best effort; this log is the truth a reconnecting
widget replays from."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, exists, func, insert, select, update

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


def append_stream_events(
    connection: Connection,
    app_id: str,
    events: Sequence[tuple[str, str, dict[str, Any]]],
    now: datetime,
) -> list[StreamItem]:
    """:func:`append_stream_event` for many contacts at once, each named once: one
    ``UPDATE … RETURNING`` numbers them all and one insert stores them, so a send to a
    thousand users costs two statements instead of two thousand."""
    if not events:
        return []
    contact_ids = [contact_id for contact_id, _, _ in events]
    if len(set(contact_ids)) != len(contact_ids):
        raise ValueError("each contact at most once: its events would share a seq")
    numbered: dict[str, int] = dict(
        connection.execute(
            update(Contact)
            .where(Contact.id.in_(contact_ids))
            .values(stream_seq=Contact.stream_seq + 1)
            .returning(Contact.id, Contact.stream_seq)
        ).all()
    )
    items = [
        StreamItem(app_id, contact_id, int(numbered[contact_id]), type_, data)
        for contact_id, type_, data in events
    ]
    connection.execute(
        insert(StreamEvent),
        [
            {
                "app_id": app_id,
                "contact_id": item.contact_id,
                "seq": item.seq,
                "type": item.type,
                "data": item.data,
                "created_at": now,
            }
            for item in items
        ],
    )
    return items


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


def stream_mark(connection: Connection) -> int:
    """The newest stream event's id, of any app: where a page rendered now stands.

    Read it before what the page shows, so that any change the page might lack is
    numbered after it (the primary key's end, no scan)."""
    return int(connection.execute(select(func.max(StreamEvent.id))).scalar_one_or_none() or 0)


def app_changed_since(connection: Connection, app_id: str, mark: int) -> bool:
    """Whether ``app_id`` has a stream event numbered after ``mark`` (a range of the
    primary key from ``mark``: only what happened since is looked at)."""
    return bool(
        connection.execute(
            select(exists().where(StreamEvent.id > mark, StreamEvent.app_id == app_id))
        ).scalar()
    )


def app_events_between(connection: Connection, app_id: str, low: int, high: int) -> int:
    """How many stream events of ``app_id`` are numbered in ``(low, high]``."""
    return int(
        connection.execute(
            select(func.count()).where(
                StreamEvent.id > low, StreamEvent.id <= high, StreamEvent.app_id == app_id
            )
        ).scalar_one()
    )


# Conversations -------------------------------------------------------------------
