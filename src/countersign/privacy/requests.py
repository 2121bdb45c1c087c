"""Export and erasure of one user's data (see the package docstring)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from ..storage import contact_records, contacts, operators
from ..storage.contacts import ContactView
from ..storage.errors import NotFound


class UserNotFound(NotFound):
    code = "user_not_found"


@dataclass(frozen=True, slots=True)
class Erased:
    contact_id: str
    ended: list[tuple[str, int]]  # the sessions to end on every node
    removed: dict[str, int]  # rows deleted, by table


def _contact(connection: Connection, app_id: str, user_id: str) -> ContactView:
    contact = contacts.verified_user(connection, app_id, user_id)
    if contact is None:
        raise UserNotFound(f"app {app_id!r} has no user {user_id[:60]!r}")
    return contact


def _identifiers(contact: ContactView) -> list[str]:
    """What the verification log may hold the user under: their id and their email."""
    return [value for value in (contact.user_id, contact.email) if value]


def export_user(connection: Connection, app_id: str, user_id: str, now: datetime) -> dict[str, Any]:
    contact = _contact(connection, app_id, user_id)
    records = contact_records.records_of(connection, app_id, contact.id, _identifiers(contact))
    return {
        "app_id": app_id,
        "user_id": user_id,
        "exported_at": now.isoformat(),
        "records": records,
    }


def erase_user(
    connection: Connection, app_id: str, user_id: str, now: datetime, *, actor: str
) -> Erased:
    contact = _contact(connection, app_id, user_id)
    ended = contact_records.sessions_of(connection, contact.id)
    removed = contact_records.erase_records(connection, app_id, contact.id, _identifiers(contact))
    operators.record_system_audit(
        connection, actor, "contact.erased", app_id=app_id, target=contact.id, now=now
    )
    return Erased(contact.id, ended, removed)
