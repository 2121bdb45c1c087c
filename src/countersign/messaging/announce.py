"""The one way a messaging change is announced: a stream event and a webhook event."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from ..storage import stream_log, webhook_outbox
from ..vocabulary.stream import StreamItem


def announce(
    connection: Connection,
    *,
    app_id: str,
    contact_id: str,
    name: str,
    stream_data: dict[str, Any],
    webhook_data: dict[str, Any],
    now: datetime,
) -> StreamItem:
    """Append the contact's stream event and enqueue the webhook event ``name``.

    Both go into the caller's transaction: a rollback takes them with the change.
    """
    event = stream_log.append_stream_event(connection, app_id, contact_id, name, stream_data, now)
    webhook_outbox.enqueue(connection, app_id, name, webhook_data, now, contact_id=contact_id)
    return event
