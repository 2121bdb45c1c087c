"""Tracking an event a contact did, with the ``event.tracked`` webhook it announces."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from ..storage import events, webhook_outbox


def track_event(
    connection: Connection,
    *,
    app_id: str,
    contact_id: str,
    name: str,
    properties: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    event = events.insert_event(
        connection, app_id=app_id, contact_id=contact_id, name=name, properties=properties, now=now
    )
    # No stream event: the widget that tracked it already knows.
    webhook_outbox.enqueue(
        connection, app_id, "event.tracked", {"event": event}, now, contact_id=contact_id
    )
    return event
