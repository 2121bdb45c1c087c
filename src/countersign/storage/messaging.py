"""Conversations, messages, notifications, events, and the per-contact stream log.

Every change a widget should see live is written together with a ``StreamEvent`` in
the same transaction, numbered by the contact's ``stream_seq``. Delivery (pub/sub) is
best effort; the stream log is the truth a reconnecting widget replays from.

Every read and write here is scoped by contact: a caller can only name a
conversation or notification of its own contact, and anything else is "not found".
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..core.encoding import b64url, unb64url
from ..vocabulary.ids import new_row_id, well_formed_id
from ..vocabulary.stream import StreamItem
from . import webhook_outbox as webhooks
from .models import (
    MAX_INTEGER,
    VERIFIED_CONTACT,
    Contact,
    Conversation,
    Event,
    Message,
    Notification,
    StreamEvent,
)

AuthorType = Literal["contact", "operator", "bot"]
MAX_PAGE: Final = 100


@dataclass(frozen=True, slots=True)
class Page:
    data: list[dict[str, Any]]
    next_cursor: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"data": self.data, "next_cursor": self.next_cursor}


class CursorError(ValueError):
    """A pagination cursor that this server did not hand out."""


def _encode_cursor(*parts: object) -> str:
    return b64url("|".join(map(str, parts)).encode())


def _decode_cursor(cursor: str, count: int) -> list[str]:
    try:
        text = unb64url(cursor).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise CursorError("the cursor is not one this server handed out") from None
    parts = text.split("|")
    if len(parts) != count:
        raise CursorError("the cursor is not one this server handed out")
    return parts


def _cursor_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
        # The query binds it as UTC, and year 1 at +14:00 (or 9999-12-31 at -14:00)
        # has no UTC time: converted there, it raised OverflowError (a 500).
        moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise CursorError("the cursor is not one this server handed out") from None
    if moment.tzinfo is None:
        raise CursorError("the cursor is not one this server handed out")
    return moment


def _cursor_id(text: str, prefix: str) -> str:
    # The cursor's tie-breaker is compared with an id column: NUL in it was a 500 on
    # PostgreSQL, and no id outside the id format can be one this server handed out.
    if not well_formed_id(text, prefix):
        raise CursorError("the cursor is not one this server handed out")
    return text


def _cursor_seq(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_INTEGER:  # seq: Integer
        raise CursorError("the cursor is not one this server handed out")
    return int(text)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def append_stream_event(
    connection: Connection,
    app_id: str,
    contact_id: str,
    type_: str,
    data: dict[str, Any],
    now: datetime,
) -> StreamItem:
    """Number and store one stream event of ``contact_id`` (call inside the change's
    transaction). The row lock of the contact's counter serialises concurrent writers."""
    seq = connection.execute(
        update(Contact)
        .where(Contact.id == contact_id)
        .values(stream_seq=Contact.stream_seq + 1)
        .returning(Contact.stream_seq)
    ).scalar_one()
    connection.execute(
        insert(StreamEvent).values(
            app_id=app_id, contact_id=contact_id, seq=seq, type=type_, data=data, created_at=now
        )
    )
    return StreamItem(app_id, contact_id, int(seq), type_, data)


def latest_seq(connection: Connection, contact_id: str) -> int:
    seq = connection.execute(
        select(Contact.stream_seq).where(Contact.id == contact_id)
    ).scalar_one_or_none()
    return int(seq or 0)


def stream_after(
    connection: Connection, contact_id: str, since: int, limit: int = 500
) -> list[StreamItem]:
    """The contact's stream events with ``seq > since``, in order."""
    rows = connection.execute(
        select(
            StreamEvent.app_id,
            StreamEvent.contact_id,
            StreamEvent.seq,
            StreamEvent.type,
            StreamEvent.data,
        )
        .where(StreamEvent.contact_id == contact_id, StreamEvent.seq > since)
        .order_by(StreamEvent.seq)
        .limit(limit)
    )
    return [StreamItem(r.app_id, r.contact_id, int(r.seq), r.type, r.data) for r in rows]


# Conversations -------------------------------------------------------------------

_CONVERSATION_COLUMNS = (
    Conversation.id,
    Conversation.contact_id,
    Conversation.last_seq,
    Conversation.created_at,
    Conversation.updated_at,
)


def _conversation_dict(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "contact_id": row.contact_id,
        "message_count": row.last_seq,
        "created_at": _iso(row.created_at),
        "updated_at": _iso(row.updated_at),
    }


def get_conversation(
    connection: Connection, contact_id: str, conversation_id: str
) -> dict[str, Any] | None:
    if not well_formed_id(conversation_id, "cnv"):
        return None  # no such row can exist: not worth a query
    row = connection.execute(
        select(*_CONVERSATION_COLUMNS).where(
            Conversation.id == conversation_id, Conversation.contact_id == contact_id
        )
    ).one_or_none()
    return None if row is None else _conversation_dict(row)


def conversation_owner(connection: Connection, app_id: str, conversation_id: str) -> str | None:
    """The contact owning a conversation of ``app_id`` (for the server API)."""
    if not well_formed_id(conversation_id, "cnv"):
        return None
    return connection.execute(
        select(Conversation.contact_id).where(
            Conversation.id == conversation_id, Conversation.app_id == app_id
        )
    ).scalar_one_or_none()


def list_conversations(
    connection: Connection, contact_id: str, *, limit: int = 50, cursor: str | None = None
) -> Page:
    """Newest activity first."""
    limit = max(1, min(limit, MAX_PAGE))
    query = select(*_CONVERSATION_COLUMNS).where(Conversation.contact_id == contact_id)
    if cursor:
        updated, last_text = _decode_cursor(cursor, 2)
        moment, last_id = _cursor_time(updated), _cursor_id(last_text, "cnv")
        query = query.where(
            (Conversation.updated_at < moment)
            | ((Conversation.updated_at == moment) & (Conversation.id < last_id))
        )
    rows = connection.execute(
        query.order_by(Conversation.updated_at.desc(), Conversation.id.desc()).limit(limit + 1)
    ).all()
    page = [_conversation_dict(row) for row in rows[:limit]]
    more = len(rows) > limit
    last = rows[limit - 1] if more else None
    next_cursor = _encode_cursor(last.updated_at.isoformat(), last.id) if last else None
    return Page(page, next_cursor)


def create_conversation(
    connection: Connection, app_id: str, contact_id: str, now: datetime
) -> tuple[dict[str, Any], StreamItem]:
    conversation_id = new_row_id("cnv", 12)
    connection.execute(
        insert(Conversation).values(
            id=conversation_id,
            app_id=app_id,
            contact_id=contact_id,
            last_seq=0,
            created_at=now,
            updated_at=now,
        )
    )
    conversation = get_conversation(connection, contact_id, conversation_id)
    assert conversation is not None
    event = append_stream_event(
        connection, app_id, contact_id, "conversation.created", conversation, now
    )
    webhooks.enqueue(
        connection,
        app_id,
        "conversation.created",
        {"conversation": conversation},
        now,
        contact_id=contact_id,
    )
    return conversation, event


def move_conversations(connection: Connection, from_contact: str, to_contact: str) -> int:
    """Hand a browser's anonymous conversations to the contact it proved to be."""
    result = connection.execute(
        update(Conversation)
        .where(Conversation.contact_id == from_contact)
        .values(contact_id=to_contact)
    )
    return int(result.rowcount or 0)


# Messages ------------------------------------------------------------------------

_MESSAGE_COLUMNS = (
    Message.id,
    Message.conversation_id,
    Message.seq,
    Message.author_type,
    Message.author_name,
    Message.body,
    Message.client_id,
    Message.created_at,
)


def _message_dict(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "conversation_id": row.conversation_id,
        "seq": row.seq,
        "author": {"type": row.author_type, "name": row.author_name},
        "body": row.body,
        "client_id": row.client_id,
        "created_at": _iso(row.created_at),
    }


def _message_by_client_id(
    connection: Connection, conversation_id: str, client_id: str
) -> dict[str, Any] | None:
    row = connection.execute(
        select(*_MESSAGE_COLUMNS).where(
            Message.conversation_id == conversation_id, Message.client_id == client_id
        )
    ).one_or_none()
    return None if row is None else _message_dict(row)


@dataclass(frozen=True, slots=True)
class Posted:
    message: dict[str, Any]
    created: bool  # False: a retry with a client_id already used
    events: tuple[StreamItem, ...]


def post_message(
    connection: Connection,
    *,
    app_id: str,
    contact_id: str,
    conversation_id: str,
    author_type: AuthorType,
    author_name: str | None,
    body: str,
    client_id: str | None,
    now: datetime,
) -> Posted:
    """Append a message, or return the original when ``client_id`` was used before.

    The unique (conversation, client_id) index settles concurrent retries: the loser's
    savepoint rolls back (its seq increment with it) and it answers the winner's row.
    """
    if client_id is not None:
        existing = _message_by_client_id(connection, conversation_id, client_id)
        if existing is not None:
            return Posted(existing, False, ())
    message_id = new_row_id("msg", 12)
    try:
        with connection.begin_nested():
            seq = connection.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id)
                .values(last_seq=Conversation.last_seq + 1, updated_at=now)
                .returning(Conversation.last_seq)
            ).scalar_one()
            connection.execute(
                insert(Message).values(
                    id=message_id,
                    app_id=app_id,
                    conversation_id=conversation_id,
                    seq=seq,
                    author_type=author_type,
                    author_name=author_name,
                    body=body,
                    client_id=client_id,
                    created_at=now,
                )
            )
    except IntegrityError:
        if client_id is None:
            raise
        existing = _message_by_client_id(connection, conversation_id, client_id)
        if existing is None:
            raise
        return Posted(existing, False, ())
    row = connection.execute(select(*_MESSAGE_COLUMNS).where(Message.id == message_id)).one()
    message = _message_dict(row)
    event = append_stream_event(connection, app_id, contact_id, "message.created", message, now)
    # Only here, past both early returns: a retried send (a repeated client_id) is the
    # same message and must not reach the webhooks twice.
    webhooks.enqueue(
        connection, app_id, "message.created", {"message": message}, now, contact_id=contact_id
    )
    return Posted(message, True, (event,))


def list_messages(
    connection: Connection, conversation_id: str, *, limit: int = 50, cursor: str | None = None
) -> Page:
    """Oldest first; the cursor continues after the last message returned."""
    limit = max(1, min(limit, MAX_PAGE))
    after = 0
    if cursor:
        (text,) = _decode_cursor(cursor, 1)
        after = _cursor_seq(text)
    rows = connection.execute(
        select(*_MESSAGE_COLUMNS)
        .where(Message.conversation_id == conversation_id, Message.seq > after)
        .order_by(Message.seq)
        .limit(limit + 1)
    ).all()
    more = len(rows) > limit
    page = [_message_dict(row) for row in rows[:limit]]
    return Page(page, _encode_cursor(rows[limit - 1].seq) if more else None)


# Notifications -------------------------------------------------------------------

_NOTIFICATION_COLUMNS = (
    Notification.id,
    Notification.title,
    Notification.body,
    Notification.url,
    Notification.data,
    Notification.created_at,
    Notification.read_at,
)


def _notification_dict(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "title": row.title,
        "body": row.body,
        "url": row.url,
        "data": row.data or {},
        "created_at": _iso(row.created_at),
        "read": row.read_at is not None,
        "read_at": _iso(row.read_at),
    }


def create_notification(
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
    notification_id = new_row_id("ntf", 12)
    connection.execute(
        insert(Notification).values(
            id=notification_id,
            app_id=app_id,
            contact_id=contact_id,
            title=title,
            body=body,
            url=url,
            data=data,
            created_at=now,
        )
    )
    row = connection.execute(
        select(*_NOTIFICATION_COLUMNS).where(Notification.id == notification_id)
    ).one()
    notification = _notification_dict(row)
    event = append_stream_event(
        connection, app_id, contact_id, "notification.created", notification, now
    )
    return notification, event


def unread_count(connection: Connection, contact_id: str) -> int:
    return int(
        connection.execute(
            select(func.count())
            .select_from(Notification)
            .where(Notification.contact_id == contact_id, Notification.read_at.is_(None))
        ).scalar_one()
    )


def list_notifications(
    connection: Connection, contact_id: str, *, limit: int = 50, cursor: str | None = None
) -> dict[str, Any]:
    """Newest first, with the unread count."""
    limit = max(1, min(limit, MAX_PAGE))
    query = select(*_NOTIFICATION_COLUMNS).where(Notification.contact_id == contact_id)
    if cursor:
        created, last_text = _decode_cursor(cursor, 2)
        moment, last_id = _cursor_time(created), _cursor_id(last_text, "ntf")
        query = query.where(
            (Notification.created_at < moment)
            | ((Notification.created_at == moment) & (Notification.id < last_id))
        )
    rows = connection.execute(
        query.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit + 1)
    ).all()
    more = len(rows) > limit
    last = rows[limit - 1] if more else None
    return {
        "data": [_notification_dict(row) for row in rows[:limit]],
        "next_cursor": _encode_cursor(last.created_at.isoformat(), last.id) if last else None,
        "unread_count": unread_count(connection, contact_id),
    }


def mark_notification_read(
    connection: Connection, app_id: str, contact_id: str, notification_id: str, now: datetime
) -> tuple[dict[str, Any], StreamItem | None] | None:
    """Mark read (once); ``None`` when the contact has no such notification."""
    if not well_formed_id(notification_id, "ntf"):
        return None
    changed = connection.execute(
        update(Notification)
        .where(
            Notification.id == notification_id,
            Notification.contact_id == contact_id,
            Notification.read_at.is_(None),
        )
        .values(read_at=now)
    ).rowcount
    row = connection.execute(
        select(*_NOTIFICATION_COLUMNS).where(
            Notification.id == notification_id, Notification.contact_id == contact_id
        )
    ).one_or_none()
    if row is None:
        return None
    notification = _notification_dict(row)
    if not changed:
        return notification, None
    data = {**notification, "unread_count": unread_count(connection, contact_id)}
    event = append_stream_event(connection, app_id, contact_id, "notification.read", data, now)
    webhooks.enqueue(
        connection,
        app_id,
        "notification.read",
        {"notification": notification},
        now,
        contact_id=contact_id,
    )
    return notification, event


# Events --------------------------------------------------------------------------


def _event_dict(event_id: int, name: str, properties: Any, at: datetime) -> dict[str, Any]:
    return {"id": f"evt_{event_id}", "name": name, "properties": properties, "created_at": _iso(at)}


def record_event(
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
    event = _event_dict(event_id, name, properties, now)
    webhooks.enqueue(
        connection, app_id, "event.tracked", {"event": event}, now, contact_id=contact_id
    )
    return event


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


def ensure_verified_contact(
    connection: Connection, app_id: str, user_id: str, now: datetime
) -> str:
    """The verified contact of ``user_id``, created if the user never visited yet, so a
    notification or conversation addressed to them is waiting at their first visit."""
    lookup = select(Contact.id).where(
        Contact.app_id == app_id, VERIFIED_CONTACT, Contact.user_id == user_id
    )
    found = connection.execute(lookup).scalar_one_or_none()
    if found is not None:
        return str(found)
    try:
        with connection.begin_nested():
            connection.execute(
                insert(Contact).values(
                    id=new_row_id("con", 12),
                    app_id=app_id,
                    user_id=user_id,
                    verified=True,
                    metadata_={},
                    attributes={},
                    created_at=now,
                    last_seen_at=now,
                )
            )
    except IntegrityError:
        pass  # created by a concurrent request: the lookup finds it
    return str(connection.execute(lookup).scalar_one())


def verified_contact_id(connection: Connection, app_id: str, user_id: str) -> str | None:
    found = connection.execute(
        select(Contact.id).where(
            Contact.app_id == app_id, VERIFIED_CONTACT, Contact.user_id == user_id
        )
    ).scalar_one_or_none()
    return None if found is None else str(found)
