"""Export and erasure of one user's data (see the package docstring)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from ..storage import attachments, contact_records, contacts, operators
from ..storage.contacts import ContactView
from ..storage.errors import NotFound


class UserNotFound(NotFound):
    code = "user_not_found"


@dataclass(frozen=True, slots=True)
class Erased:
    contact_id: str
    ended: list[tuple[str, int]]  # the sessions to end on every node
    removed: dict[str, int]  # rows deleted, by table
    # Attachment ids whose files (in COUNTERSIGN_ATTACHMENTS_DIR) the caller removes
    # once this commits (``database.files.remove``): never before, in case it does not.
    files: list[str] = field(default_factory=list)


class ContactNotFound(NotFound):
    code = "not_found"


@dataclass(frozen=True, slots=True)
class Subject:
    """Whose data a request is about: a verified user by id (the server API and the
    CLI), or any contact by its opaque id (the dashboard, which also shows anonymous
    and unverified contacts)."""

    user_id: str | None = None
    contact_id: str | None = None

    def find(self, connection: Connection, app_id: str) -> ContactView:
        if self.user_id is not None:
            contact = contacts.verified_user(connection, app_id, self.user_id)
            if contact is None:
                raise UserNotFound(f"app {app_id!r} has no user {self.user_id[:60]!r}")
            return contact
        assert self.contact_id is not None
        found = contacts.contact_of_app(connection, app_id, self.contact_id)
        if found is None:
            raise ContactNotFound("this app has no such contact")
        return found


def _contact(connection: Connection, app_id: str, who: str | Subject) -> ContactView:
    subject = who if isinstance(who, Subject) else Subject(user_id=who)
    return subject.find(connection, app_id)


def _identifiers(contact: ContactView) -> list[str]:
    """What the verification log may hold the user under: their id and their email."""
    return [value for value in (contact.user_id, contact.email) if value]


def export_user(
    connection: Connection, app_id: str, who: str | Subject, now: datetime
) -> dict[str, Any]:
    """Everything about the user (a user id, or a :class:`Subject`) as one document."""
    contact = _contact(connection, app_id, who)
    records = contact_records.records_of(connection, app_id, contact.id, _identifiers(contact))
    return {
        "app_id": app_id,
        "user_id": contact.user_id,
        "contact_id": contact.id,
        "exported_at": now.isoformat(),
        "records": records,
    }


def erase_user(
    connection: Connection, app_id: str, who: str | Subject, now: datetime, *, actor: str
) -> Erased:
    contact = _contact(connection, app_id, who)
    ended = contact_records.sessions_of(connection, contact.id)
    files = attachments.ids_of_contact(connection, contact.id)  # before their rows cascade
    removed = contact_records.erase_records(connection, app_id, contact.id, _identifiers(contact))
    operators.record_system_audit(
        connection, actor, "contact.erased", app_id=app_id, target=contact.id, now=now
    )
    return Erased(contact.id, ended, removed, files)
