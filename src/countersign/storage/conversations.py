"""Conversations and their messages, scoped by contact: rows and queries only.

A caller can only name a conversation of its own contact; anything else is "not
found". What a change announces (its stream event and webhook event, in the same
transaction) is :mod:`countersign.messaging`'s business, not storage's."""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..vocabulary.ids import new_row_id, well_formed_id
from . import attachments
from .cursors import (
    MAX_PAGE,
    Page,
    cursor_id,
    cursor_seq,
    cursor_time,
    decode_cursor,
    encode_cursor,
    iso,
)
from .models import (
    Conversation,
    Message,
)
from .prepared import Prepared

AuthorType = Literal["contact", "operator", "bot", "note"]

#: A private note's author type (SPEC 10): the team's only, never the contact's.
NOTE: Final = "note"

# What a conversation counts is what its contact sees: messages, never the team's
# private notes (``last_seq`` numbers both, so it would tell that a note exists).
_MESSAGE_COUNT = (
    select(func.count())
    .select_from(Message)
    .where(Message.conversation_id == Conversation.id, Message.author_type != NOTE)
    .correlate(Conversation)
    .scalar_subquery()
    .label("message_count")
)

# The team's messages the contact has not read (on any device): the widget's badge.
_UNREAD_COUNT = (
    select(func.count())
    .select_from(Message)
    .where(
        Message.conversation_id == Conversation.id,
        # Two comparisons, not NOT IN: an expanding IN cannot be prepared (prepared.py).
        Message.author_type != "contact",
        Message.author_type != NOTE,
        Message.seq > Conversation.contact_read_seq,
    )
    .correlate(Conversation)
    .scalar_subquery()
    .label("unread_count")
)

_CONVERSATION_COLUMNS = (
    Conversation.id,
    Conversation.contact_id,
    _MESSAGE_COUNT,
    _UNREAD_COUNT,
    Conversation.contact_read_seq,
    Conversation.team_read_seq,
    Conversation.created_at,
    Conversation.updated_at,
)


def _conversation_dict(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "contact_id": row.contact_id,
        "message_count": int(row.message_count or 0),
        # Read receipts (SPEC 11; storage.reads): how far this contact has read, how
        # far the team has (the widget's *Seen*), and the team's messages still unread.
        "read_up_to_seq": int(row.contact_read_seq or 0),
        "seen_up_to_seq": int(row.team_read_seq or 0),
        "unread_count": int(row.unread_count or 0),
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
    }


_NEWEST_FIRST = (Conversation.updated_at.desc(), Conversation.id.desc())

# A contact's conversations, a page at a time: every widget open reads the first,
# so both are compiled once (storage/prepared.py).
_OF_CONTACT = select(*_CONVERSATION_COLUMNS).where(
    Conversation.contact_id == bindparam("b_contact_id")
)
_FIRST_PAGE = Prepared(_OF_CONTACT.order_by(*_NEWEST_FIRST).limit(bindparam("b_limit")))
_LATER_PAGE = Prepared(
    _OF_CONTACT.where(
        (Conversation.updated_at < bindparam("b_moment"))
        | (
            (Conversation.updated_at == bindparam("b_moment"))
            & (Conversation.id < bindparam("b_last_id"))
        )
    )
    .order_by(*_NEWEST_FIRST)
    .limit(bindparam("b_limit"))
)


# A prepared statement's row, by the columns' names, for _conversation_dict.
_Row = namedtuple("_Row", [column.key for column in _CONVERSATION_COLUMNS])  # type: ignore[misc]


def _page_row(values: tuple[Any, ...]) -> dict[str, Any]:
    return _conversation_dict(_Row(*values))


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


def conversation_parties(connection: Connection, conversation_id: str) -> tuple[str, str] | None:
    """(app id, contact id) of a conversation of any app (for a reply token's check)."""
    if not well_formed_id(conversation_id, "cnv"):
        return None
    row = connection.execute(
        select(Conversation.app_id, Conversation.contact_id).where(
            Conversation.id == conversation_id
        )
    ).one_or_none()
    return None if row is None else (str(row.app_id), str(row.contact_id))


def list_conversations(
    connection: Connection, contact_id: str, *, limit: int = 50, cursor: str | None = None
) -> Page:
    """Newest activity first."""
    limit = max(1, min(limit, MAX_PAGE))
    params: dict[str, Any] = {"b_contact_id": contact_id, "b_limit": limit + 1}
    statement = _FIRST_PAGE
    if cursor:
        updated, last_text = decode_cursor(cursor, 2)
        params["b_moment"], params["b_last_id"] = cursor_time(updated), cursor_id(last_text, "cnv")
        statement = _LATER_PAGE
    found = statement.rows(connection, params)
    page = [_page_row(values) for values in found[:limit]]
    last = page[-1] if len(found) > limit else None
    next_cursor = encode_cursor(last["updated_at"], last["id"]) if last else None
    return Page(page, next_cursor)


def insert_conversation(
    connection: Connection, app_id: str, contact_id: str, now: datetime
) -> dict[str, Any]:
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
    return conversation


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
        "created_at": iso(row.created_at),
        "attachments": [],
    }


def _with_attachments(
    connection: Connection, messages: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    found = attachments.for_messages(connection, [message["id"] for message in messages])
    for message in messages:
        message["attachments"] = found.get(message["id"], [])
    return messages


def message_by_client_id(
    connection: Connection, conversation_id: str, client_id: str
) -> dict[str, Any] | None:
    """The message posted with this retry key, if any."""
    return _message_by_client_id(connection, conversation_id, client_id)


def _message_by_client_id(
    connection: Connection, conversation_id: str, client_id: str
) -> dict[str, Any] | None:
    row = connection.execute(
        select(*_MESSAGE_COLUMNS).where(
            Message.conversation_id == conversation_id, Message.client_id == client_id
        )
    ).one_or_none()
    return None if row is None else _with_attachments(connection, [_message_dict(row)])[0]


@dataclass(frozen=True, slots=True)
class Draft:
    """A message as its author sent it, before it has an id and a place."""

    author_type: AuthorType
    author_name: str | None
    body: str
    client_id: str | None = None  # the sender's retry key
    # Uploads to attach: the contact's own for a contact's message, the team's else.
    attachment_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Inserted:
    message: dict[str, Any]
    created: bool  # False: a retry with a client_id already used


def insert_message(
    connection: Connection,
    *,
    app_id: str,
    conversation_id: str,
    draft: Draft,
    now: datetime,
) -> Inserted:
    """Append a message, or return the original when ``client_id`` was used before.

    The unique (conversation, client_id) index settles concurrent retries: the loser's
    savepoint rolls back (its seq increment with it) and it answers the winner's row.
    """
    if draft.client_id is not None:
        existing = _message_by_client_id(connection, conversation_id, draft.client_id)
        if existing is not None:
            return Inserted(existing, False)
    message_id = new_row_id("msg", 12)
    try:
        with connection.begin_nested():
            # A private note leaves updated_at alone: the contact's list of
            # conversations must not move (or say anything happened) for it.
            moved = {} if draft.author_type == NOTE else {"updated_at": now}
            seq, owner = connection.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id)
                .values(last_seq=Conversation.last_seq + 1, **moved)
                .returning(Conversation.last_seq, Conversation.contact_id)
            ).one()
            connection.execute(
                insert(Message).values(
                    id=message_id,
                    app_id=app_id,
                    conversation_id=conversation_id,
                    seq=seq,
                    author_type=draft.author_type,
                    author_name=draft.author_name,
                    body=draft.body,
                    client_id=draft.client_id,
                    created_at=now,
                )
            )
            claimed = attachments.claim(
                connection,
                app_id=app_id,
                contact_id=owner if draft.author_type == "contact" else None,
                attachment_ids=draft.attachment_ids,
                message_id=message_id,
            )
    except IntegrityError:
        if draft.client_id is None:
            raise
        existing = _message_by_client_id(connection, conversation_id, draft.client_id)
        if existing is None:
            raise
        return Inserted(existing, False)
    row = connection.execute(select(*_MESSAGE_COLUMNS).where(Message.id == message_id)).one()
    return Inserted({**_message_dict(row), "attachments": claimed}, True)


def list_messages(
    connection: Connection,
    conversation_id: str,
    *,
    limit: int = 50,
    cursor: str | None = None,
    notes: bool = False,
) -> Page:
    """Oldest first; the cursor continues after the last message returned. Private
    notes only with ``notes=True``: the team's callers ask for them, a widget never."""
    limit = max(1, min(limit, MAX_PAGE))
    after = 0
    if cursor:
        (text,) = decode_cursor(cursor, 1)
        after = cursor_seq(text)
    rows = connection.execute(
        select(*_MESSAGE_COLUMNS)
        .where(
            Message.conversation_id == conversation_id,
            Message.seq > after,
            *(() if notes else (Message.author_type != NOTE,)),
        )
        .order_by(Message.seq)
        .limit(limit + 1)
    ).all()
    more = len(rows) > limit
    page = _with_attachments(connection, [_message_dict(row) for row in rows[:limit]])
    return Page(page, encode_cursor(rows[limit - 1].seq) if more else None)


# Notifications -------------------------------------------------------------------
