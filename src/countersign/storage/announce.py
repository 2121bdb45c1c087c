"""The one way a change is announced: a stream event and a webhook event, together.

Here, below the capabilities, because two of them announce (``messaging`` and
``notifications``) and a capability may not import another. It composes the two logs
and decides nothing: which change announces what is the capability's call."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from ..vocabulary.stream import StreamItem
from . import stream_log, webhook_outbox


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
