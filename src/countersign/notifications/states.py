"""A notification's states as changes: seen, read / unread, archived / unarchived, one
or all at once, and deletion by the backend.

Each change that moved something is one stream event carrying the contact's new counts,
so every other device of the user updates its list and badge without asking; a change
that moved nothing (a second tab doing the same) announces nothing. Reading keeps its
``notification.read`` webhook (:func:`countersign.storage.announce.announce`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, Literal

from sqlalchemy import Connection

from ..storage import notifications, stream_log, webhook_outbox
from ..storage.announce import announce
from ..storage.notifications import Transition
from ..vocabulary.stream import StreamItem
from ..vocabulary.webhook_events import NOTIFICATION_READ

#: The stream event each transition makes.
EVENT: Final[dict[Transition, str]] = {
    "read": "notification.read",
    "unread": "notification.unread",
    "archive": "notification.archived",
    "unarchive": "notification.unarchived",
}

Changed = tuple[dict[str, Any], tuple[StreamItem, ...]]


def move(
    connection: Connection,
    app_id: str,
    contact_id: str,
    notification_id: str,
    transition: Transition,
    now: datetime,
) -> Changed | None:
    """Apply ``transition`` to one notification: it and its events (none when it was
    already there); ``None`` when the contact has no such notification."""
    found = notifications.apply_transition(connection, contact_id, notification_id, transition, now)
    if found is None:
        return None
    notification, changed = found
    if not changed:
        return notification, ()
    counts = notifications.counts(connection, contact_id)
    data = {**notification, "unread_count": counts["unread"], "counts": counts}
    if transition == "read":
        event = announce(
            connection,
            app_id=app_id,
            contact_id=contact_id,
            name=NOTIFICATION_READ,
            stream_data=data,
            webhook_data={"notification": notification},
            now=now,
        )
    else:
        event = stream_log.append_stream_event(
            connection, app_id, contact_id, EVENT[transition], data, now
        )
    return notification, (event,)


def move_all(
    connection: Connection,
    app_id: str,
    contact_id: str,
    transition: Literal["read", "archive"],
    now: datetime,
    category: str | None = None,
) -> Changed:
    """Read or archive everything not archived (of ``category``): ``{ids, counts}``."""
    ids = notifications.apply_to_all(connection, contact_id, transition, now, category=category)
    counts = notifications.counts(connection, contact_id)
    document = {"ids": ids, "category": category, "counts": counts}
    if not ids:
        return document, ()
    if transition == "read":
        # The webhook speaks of notifications one at a time, as it always has.
        for notification_id in ids:
            webhook_outbox.enqueue(
                connection,
                app_id,
                NOTIFICATION_READ,
                {"notification": {"id": notification_id, "read_at": now.isoformat()}},
                now,
                contact_id=contact_id,
            )
    name = "notification.read_all" if transition == "read" else "notification.archived_all"
    event = stream_log.append_stream_event(connection, app_id, contact_id, name, document, now)
    return document, (event,)


def mark_seen(connection: Connection, app_id: str, contact_id: str, now: datetime) -> Changed:
    """The bell was opened: everything not archived is seen (nothing is read)."""
    changed = notifications.mark_seen(connection, contact_id, now)
    counts = notifications.counts(connection, contact_id)
    if not changed:
        return counts, ()
    event = stream_log.append_stream_event(
        connection, app_id, contact_id, "notification.seen", {"counts": counts}, now
    )
    return counts, (event,)


def delete(
    connection: Connection, app_id: str, notification_id: str, now: datetime
) -> tuple[bool, tuple[StreamItem, ...]]:
    """The backend takes a notification back: whether it existed, and its event."""
    owner = notifications.delete_notification(connection, app_id, notification_id)
    if owner is None:
        return False, ()
    counts = notifications.counts(connection, owner)
    event = stream_log.append_stream_event(
        connection,
        app_id,
        owner,
        "notification.deleted",
        {"id": notification_id, "counts": counts},
        now,
    )
    return True, (event,)
