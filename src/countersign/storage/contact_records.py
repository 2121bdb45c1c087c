"""Every row stored about one contact, found by the schema itself, for export and erasure.

The tables are read from the models' metadata, not listed by hand: a table with a
foreign key to ``contacts`` (or a ``contact_id`` column) holds rows of the contact, and
a table with a foreign key to ``conversations`` holds rows of the contact's
conversations. So a table added later is exported and erased without anyone
remembering to add it here. Two more kinds hold the contact's data without naming the
contact's row: the verification log (by the identifier the browser claimed) and the
webhook outbox (the ``contact`` in an event's payload).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Connection, Table, delete, or_, select

from .models import Base, Contact, Conversation, VerificationLogEntry, WebhookEvent

_CONTACTS = "contacts"
_CONVERSATIONS = "conversations"


def _references(table: Table, target: str) -> list[Column[Any]]:
    columns = [fk.parent for fk in table.foreign_keys if fk.column.table.name == target]
    if target == _CONTACTS and "contact_id" in table.c and table.c.contact_id not in columns:
        columns.append(table.c.contact_id)  # a plain column, kept after the contact (logs)
    return columns


def _tables(target: str) -> Iterator[tuple[Table, list[Column[Any]]]]:
    for table in Base.metadata.sorted_tables:
        if table.name not in (_CONTACTS, target) and (columns := _references(table, target)):
            yield table, columns


def _any_of(columns: list[Column[Any]], keys: list[str]) -> Any:
    return or_(*(column.in_(keys) for column in columns))


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


def _documents(rows: Iterable[Any]) -> list[dict[str, Any]]:
    return [{key: _plain(value) for key, value in row._mapping.items()} for row in rows]


def _conversation_ids(connection: Connection, contact_id: str) -> list[str]:
    query = select(Conversation.id).where(Conversation.contact_id == contact_id)
    return list(connection.execute(query).scalars())


def _webhook_events(app_id: str, contact_id: str) -> Any:
    return (WebhookEvent.app_id == app_id) & (
        WebhookEvent.data["contact"]["id"].as_string() == contact_id
    )


def _log_rows(app_id: str, identifiers: list[str]) -> Any:
    return (VerificationLogEntry.app_id == app_id) & VerificationLogEntry.identifier.in_(
        identifiers
    )


def records_of(
    connection: Connection, app_id: str, contact_id: str, identifiers: list[str]
) -> dict[str, list[dict[str, Any]]]:
    """Every row about the contact, by table name (``contacts`` first)."""
    found: dict[str, list[dict[str, Any]]] = {
        _CONTACTS: _documents(connection.execute(select(Contact).where(Contact.id == contact_id)))
    }
    conversations = _conversation_ids(connection, contact_id)
    for target, keys in ((_CONTACTS, [contact_id]), (_CONVERSATIONS, conversations)):
        for table, columns in _tables(target):
            rows = connection.execute(select(table).where(_any_of(columns, keys))) if keys else ()
            found.setdefault(table.name, []).extend(_documents(rows))
    events = connection.execute(select(WebhookEvent).where(_webhook_events(app_id, contact_id)))
    found["webhook_events"] = _documents(events)
    log = connection.execute(select(VerificationLogEntry).where(_log_rows(app_id, identifiers)))
    found["verification_log"] = _documents(log)
    return found


def erase_records(
    connection: Connection, app_id: str, contact_id: str, identifiers: list[str]
) -> dict[str, int]:
    """Delete every row about the contact, the contact last; rows deleted, by table."""
    removed: dict[str, int] = {}
    conversations = _conversation_ids(connection, contact_id)
    for target, keys in ((_CONVERSATIONS, conversations), (_CONTACTS, [contact_id])):
        if not keys:
            continue
        for table, columns in reversed(list(_tables(target))):
            result = connection.execute(delete(table).where(_any_of(columns, keys)))
            removed[table.name] = removed.get(table.name, 0) + int(result.rowcount or 0)
    result = connection.execute(delete(WebhookEvent).where(_webhook_events(app_id, contact_id)))
    removed["webhook_events"] = int(result.rowcount or 0)  # their deliveries cascade
    result = connection.execute(delete(VerificationLogEntry).where(_log_rows(app_id, identifiers)))
    removed["verification_log"] = int(result.rowcount or 0)
    result = connection.execute(delete(Contact).where(Contact.id == contact_id))
    removed[_CONTACTS] = int(result.rowcount or 0)
    return removed


def sessions_of(connection: Connection, contact_id: str) -> list[tuple[str, int]]:
    """(visitor id, session epoch) of every browser tied to the contact: the sessions an
    erasure ends on every node."""
    visitors = Base.metadata.tables["visitors"]
    linked = or_(*(column == contact_id for column in _references(visitors, _CONTACTS)))
    rows = connection.execute(select(visitors.c.id, visitors.c.session_epoch).where(linked))
    return [(str(row.id), int(row.session_epoch)) for row in rows]
