"""Events a contact did (``name``, ``properties``, time), tracked from the widget."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from .cursors import (
    MAX_PAGE,
    iso,
)
from .models import (
    Event,
)


def _event_dict(event_id: int, name: str, properties: Any, at: datetime) -> dict[str, Any]:
    return {"id": f"evt_{event_id}", "name": name, "properties": properties, "created_at": iso(at)}


def insert_event(
    connection: Connection,
    *,
    app_id: str,
    contact_id: str,
    name: str,
    properties: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    event_id = connection.execute(
        insert(Event)
        .values(
            app_id=app_id, contact_id=contact_id, name=name, properties=properties, created_at=now
        )
        .returning(Event.id)
    ).scalar_one()
    return _event_dict(event_id, name, properties, now)


def list_events(
    connection: Connection, contact_id: str, *, limit: int = 50
) -> list[dict[str, Any]]:
    rows = connection.execute(
        select(Event.id, Event.name, Event.properties, Event.created_at)
        .where(Event.contact_id == contact_id)
        .order_by(Event.created_at.desc(), Event.id.desc())
        .limit(max(1, min(limit, MAX_PAGE)))
    )
    return [_event_dict(r.id, r.name, r.properties, r.created_at) for r in rows]
