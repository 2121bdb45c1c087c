"""In-app notifications of a user, with their read state, scoped by contact.

Rows and queries only: the stream and webhook events a change announces are
:mod:`countersign.messaging`'s."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from ..vocabulary.ids import new_row_id, well_formed_id
from .cursors import (
    MAX_PAGE,
    cursor_id,
    cursor_time,
    decode_cursor,
    encode_cursor,
    iso,
)
from .models import (
    Notification,
)

_NOTIFICATION_COLUMNS = (
    Notification.id,
    Notification.title,
    Notification.body,
    Notification.url,
    Notification.data,
    Notification.created_at,
    Notification.read_at,
)


def _notification_dict(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "title": row.title,
        "body": row.body,
        "url": row.url,
        "data": row.data or {},
        "created_at": iso(row.created_at),
        "read": row.read_at is not None,
        "read_at": iso(row.read_at),
    }


def insert_notification(
    connection: Connection,
    *,
    app_id: str,
    contact_id: str,
    title: str,
    body: str | None,
    url: str | None,
    data: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    notification_id = new_row_id("ntf", 12)
    connection.execute(
        insert(Notification).values(
            id=notification_id,
            app_id=app_id,
            contact_id=contact_id,
            title=title,
            body=body,
            url=url,
            data=data,
            created_at=now,
        )
    )
    row = connection.execute(
        select(*_NOTIFICATION_COLUMNS).where(Notification.id == notification_id)
    ).one()
    return _notification_dict(row)


def unread_count(connection: Connection, contact_id: str) -> int:
    return int(
        connection.execute(
            select(func.count())
            .select_from(Notification)
            .where(Notification.contact_id == contact_id, Notification.read_at.is_(None))
        ).scalar_one()
    )


def list_notifications(
    connection: Connection, contact_id: str, *, limit: int = 50, cursor: str | None = None
) -> dict[str, Any]:
    """Newest first, with the unread count."""
    limit = max(1, min(limit, MAX_PAGE))
    query = select(*_NOTIFICATION_COLUMNS).where(Notification.contact_id == contact_id)
    if cursor:
        created, last_text = decode_cursor(cursor, 2)
        moment, last_id = cursor_time(created), cursor_id(last_text, "ntf")
        query = query.where(
            (Notification.created_at < moment)
            | ((Notification.created_at == moment) & (Notification.id < last_id))
        )
    rows = connection.execute(
        query.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit + 1)
    ).all()
    more = len(rows) > limit
    last = rows[limit - 1] if more else None
    return {
        "data": [_notification_dict(row) for row in rows[:limit]],
        "next_cursor": encode_cursor(last.created_at.isoformat(), last.id) if last else None,
        "unread_count": unread_count(connection, contact_id),
    }


def set_read(
    connection: Connection, contact_id: str, notification_id: str, now: datetime
) -> tuple[dict[str, Any], bool] | None:
    """Mark read (once): the notification and whether this call changed it; ``None``
    when the contact has no such notification."""
    if not well_formed_id(notification_id, "ntf"):
        return None
    changed = connection.execute(
        update(Notification)
        .where(
            Notification.id == notification_id,
            Notification.contact_id == contact_id,
            Notification.read_at.is_(None),
        )
        .values(read_at=now)
    ).rowcount
    row = connection.execute(
        select(*_NOTIFICATION_COLUMNS).where(
            Notification.id == notification_id, Notification.contact_id == contact_id
        )
    ).one_or_none()
    if row is None:
        return None
    return _notification_dict(row), bool(changed)
