"""In-app notifications of a user with their states, scoped by contact: rows and
queries only.

A notification's states are moments (``seen_at``, ``read_at``, ``archived_at``); every
transition here is one conditional ``UPDATE`` that reports whether it changed a row,
so a repeated call (a second tab, a retry) changes and announces nothing. Which change
is allowed, and what it announces, is :mod:`countersign.notifications`'s business."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)

from ..vocabulary.ids import new_row_id, well_formed_id
from .cursors import MAX_PAGE, cursor_id, cursor_time, decode_cursor, encode_cursor, iso
from .models import Notification
from .prepared import Prepared

#: ``inbox`` is every notification that is not archived (the widget's default view);
#: ``all`` includes the archived ones (the server API's default).
View = Literal["inbox", "all", "unread", "read", "archived"]
#: A state a notification can be moved into, and back.
Transition = Literal["read", "unread", "archive", "unarchive"]

DEFAULT_CATEGORY: Final = "general"


@dataclass(frozen=True, slots=True)
class NotificationDraft:
    """What a notification says, checked by the caller before it reaches storage."""

    title: str
    body: str | None = None
    url: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    category: str = DEFAULT_CATEGORY
    actions: tuple[tuple[str, str], ...] = ()  # (label, url), at most two

    def action_list(self) -> list[dict[str, str]]:
        return [{"label": label, "url": url} for label, url in self.actions]


_COLUMNS = (
    Notification.id,
    Notification.title,
    Notification.body,
    Notification.url,
    Notification.data,
    Notification.category,
    Notification.actions,
    Notification.created_at,
    Notification.seen_at,
    Notification.read_at,
    Notification.archived_at,
)


def _document(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "title": row.title,
        "body": row.body,
        "url": row.url,
        "data": row.data or {},
        "category": row.category,
        "actions": row.actions or [],
        "created_at": iso(row.created_at),
        "seen_at": iso(row.seen_at),
        "read": row.read_at is not None,
        "read_at": iso(row.read_at),
        "archived_at": iso(row.archived_at),
    }


def insert_notifications(
    connection: Connection,
    *,
    app_id: str,
    contact_ids: Sequence[str],
    draft: NotificationDraft,
    now: datetime,
) -> list[dict[str, Any]]:
    """One notification of ``draft`` for each contact, in one multi-row insert; their
    documents, in the order of ``contact_ids``."""
    if not contact_ids:
        return []
    rows = [
        {
            "id": new_row_id("ntf", 12),
            "app_id": app_id,
            "contact_id": contact_id,
            "title": draft.title,
            "body": draft.body,
            "url": draft.url,
            "data": draft.data,
            "category": draft.category,
            "actions": draft.action_list(),
            "created_at": now,
        }
        for contact_id in contact_ids
    ]
    connection.execute(insert(Notification), rows)
    # Built from what was written rather than read back: a thousand-user send would
    # otherwise pay a second query for values it already holds.
    return [
        {
            "id": row["id"],
            "title": draft.title,
            "body": draft.body,
            "url": draft.url,
            "data": draft.data,
            "category": draft.category,
            "actions": row["actions"],
            "created_at": iso(now),
            "seen_at": None,
            "read": False,
            "read_at": None,
            "archived_at": None,
        }
        for row in rows
    ]


def _in_view(view: View) -> list[ColumnElement[bool]]:
    not_archived = Notification.archived_at.is_(None)
    views: dict[View, list[ColumnElement[bool]]] = {
        "inbox": [not_archived],
        "all": [],
        "unread": [not_archived, Notification.read_at.is_(None)],
        "read": [not_archived, Notification.read_at.is_not(None)],
        "archived": [Notification.archived_at.is_not(None)],
    }
    return views[view]


def _scope(contact_id: str, category: str | None) -> list[ColumnElement[bool]]:
    terms = [Notification.contact_id == contact_id]
    if category is not None:
        terms.append(Notification.category == category)
    return terms


_CONTACT: BindParameter[str] = bindparam("b_contact_id")
_UNREAD_COUNT = Prepared(
    select(func.count()).where(Notification.contact_id == _CONTACT, *_in_view("unread"))
)
# The inbox's first page, which every widget open reads: compiled once.
_INBOX_FIRST_PAGE = Prepared(
    select(*_COLUMNS)
    .where(Notification.contact_id == _CONTACT, *_in_view("inbox"))
    .order_by(Notification.created_at.desc(), Notification.id.desc())
    .limit(bindparam("b_limit"))
)
_Row = namedtuple("_Row", [column.key for column in _COLUMNS])  # type: ignore[misc]


def unread_count(connection: Connection, contact_id: str) -> int:
    return int(_UNREAD_COUNT.one(connection, {"b_contact_id": contact_id})[0])


def counts(connection: Connection, contact_id: str) -> dict[str, Any]:
    """``{unread, unseen, categories: {name: {unread}}}`` over what is not archived."""
    unread = Notification.read_at.is_(None)
    rows = connection.execute(
        select(
            Notification.category,
            func.count().filter(unread),
            func.count().filter(Notification.seen_at.is_(None)),
        )
        .where(*_scope(contact_id, None), *_in_view("inbox"))
        .group_by(Notification.category)
    ).all()
    return {
        "unread": sum(int(row[1]) for row in rows),
        "unseen": sum(int(row[2]) for row in rows),
        "categories": {row[0]: {"unread": int(row[1])} for row in rows},
    }


def list_notifications(
    connection: Connection,
    contact_id: str,
    *,
    view: View = "inbox",
    category: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Newest first, with the unread count."""
    limit = max(1, min(limit, MAX_PAGE))
    if view == "inbox" and category is None and not cursor:
        found = _INBOX_FIRST_PAGE.rows(
            connection, {"b_contact_id": contact_id, "b_limit": limit + 1}
        )
        rows: Sequence[Any] = [_Row(*values) for values in found]
    else:
        rows = _listed(connection, contact_id, view, category, limit, cursor)
    more = len(rows) > limit
    last = rows[limit - 1] if more else None
    return {
        "data": [_document(row) for row in rows[:limit]],
        "next_cursor": encode_cursor(last.created_at.isoformat(), last.id) if last else None,
        "unread_count": unread_count(connection, contact_id),
    }


def _listed(
    connection: Connection,
    contact_id: str,
    view: View,
    category: str | None,
    limit: int,
    cursor: str | None,
) -> Sequence[Any]:
    query = select(*_COLUMNS).where(*_scope(contact_id, category), *_in_view(view))
    if cursor:
        created, last_text = decode_cursor(cursor, 2)
        moment, last_id = cursor_time(created), cursor_id(last_text, "ntf")
        query = query.where(
            (Notification.created_at < moment)
            | ((Notification.created_at == moment) & (Notification.id < last_id))
        )
    return connection.execute(
        query.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit + 1)
    ).all()


def _transition(
    transition: Transition, now: datetime
) -> tuple[ColumnElement[bool], dict[str, Any]]:
    """The condition under which ``transition`` changes a row, and the change."""
    moves: dict[Transition, tuple[ColumnElement[bool], dict[str, Any]]] = {
        "read": (Notification.read_at.is_(None), {"read_at": now}),
        "unread": (Notification.read_at.is_not(None), {"read_at": None}),
        "archive": (Notification.archived_at.is_(None), {"archived_at": now}),
        "unarchive": (Notification.archived_at.is_not(None), {"archived_at": None}),
    }
    return moves[transition]


def get_notification(
    connection: Connection, contact_id: str, notification_id: str
) -> dict[str, Any] | None:
    if not well_formed_id(notification_id, "ntf"):
        return None  # no such row can exist: not worth a query
    row = connection.execute(
        select(*_COLUMNS).where(
            Notification.id == notification_id, Notification.contact_id == contact_id
        )
    ).one_or_none()
    return None if row is None else _document(row)


def apply_transition(
    connection: Connection,
    contact_id: str,
    notification_id: str,
    transition: Transition,
    now: datetime,
) -> tuple[dict[str, Any], bool] | None:
    """Move one notification: it and whether this call changed it; ``None`` when the
    contact has no such notification."""
    if not well_formed_id(notification_id, "ntf"):
        return None
    condition, change = _transition(transition, now)
    changed = connection.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.contact_id == contact_id)
        .where(condition)
        .values(**change)
    ).rowcount
    found = get_notification(connection, contact_id, notification_id)
    return None if found is None else (found, bool(changed))


def apply_to_all(
    connection: Connection,
    contact_id: str,
    transition: Literal["read", "archive"],
    now: datetime,
    *,
    category: str | None = None,
) -> list[str]:
    """Read or archive every notification not archived (of ``category``): the ids this
    call changed."""
    condition, change = _transition(transition, now)
    return list(
        connection.execute(
            update(Notification)
            .where(*_scope(contact_id, category), *_in_view("inbox"), condition)
            .values(**change)
            .returning(Notification.id)
        ).scalars()
    )


def mark_seen(connection: Connection, contact_id: str, now: datetime) -> int:
    """Every unseen notification not archived is seen now: how many changed."""
    return int(
        connection.execute(
            update(Notification)
            .where(*_scope(contact_id, None), *_in_view("inbox"), Notification.seen_at.is_(None))
            .values(seen_at=now)
        ).rowcount
    )


def categories_in_use(connection: Connection, contact_id: str) -> list[str]:
    return sorted(
        connection.execute(
            select(Notification.category).where(*_scope(contact_id, None)).distinct()
        ).scalars()
    )


def delete_notification(connection: Connection, app_id: str, notification_id: str) -> str | None:
    """Delete an app's notification: the contact it belonged to, or ``None``."""
    if not well_formed_id(notification_id, "ntf"):
        return None
    owner = connection.execute(
        delete(Notification)
        .where(Notification.id == notification_id, Notification.app_id == app_id)
        .returning(Notification.contact_id)
    ).scalar_one_or_none()
    return None if owner is None else str(owner)
