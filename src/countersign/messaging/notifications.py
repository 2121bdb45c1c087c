"""Sending a notification to a user and marking it read, with what each announces."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from ..storage import notifications, stream_log
from ..vocabulary.stream import StreamItem
from .announce import announce


def send_notification(
    connection: Connection,
    *,
    app_id: str,
    contact_id: str,
    title: str,
    body: str | None,
    url: str | None,
    data: dict[str, Any],
    now: datetime,
) -> tuple[dict[str, Any], StreamItem]:
    notification = notifications.insert_notification(
        connection,
        app_id=app_id,
        contact_id=contact_id,
        title=title,
        body=body,
        url=url,
        data=data,
        now=now,
    )
    # Only the widget hears of a new notification: the customer's backend sent it.
    event = stream_log.append_stream_event(
        connection, app_id, contact_id, "notification.created", notification, now
    )
    return notification, event


def mark_read(
    connection: Connection, app_id: str, contact_id: str, notification_id: str, now: datetime
) -> tuple[dict[str, Any], StreamItem | None] | None:
    """Mark read (once); ``None`` when the contact has no such notification.

    Only the call that changed it announces it: reading twice is one ``notification.read``.
    """
    found = notifications.set_read(connection, contact_id, notification_id, now)
    if found is None:
        return None
    notification, changed = found
    if not changed:
        return notification, None
    unread = notifications.unread_count(connection, contact_id)
    event = announce(
        connection,
        app_id=app_id,
        contact_id=contact_id,
        name="notification.read",
        stream_data={**notification, "unread_count": unread},
        webhook_data={"notification": notification},
        now=now,
    )
    return notification, event
