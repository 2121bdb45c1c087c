"""The dashboard's inbox: an app's conversations as its operators see them.

These queries read across all of an app's contacts, so they are for operators only,
never for a widget session, which is always scoped to one contact
(``storage.messaging``). An operator's read markers (``ConversationRead``) are kept
here too: they are what the inbox's unread counts are measured against.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from ..vocabulary.ids import well_formed_id
from . import attachments
from .models import Contact, Conversation, ConversationRead, Message, Operator


@dataclass(frozen=True, slots=True)
class InboxRow:
    """One conversation as the inbox lists it."""

    id: str
    contact: dict[str, Any]
    updated_at: datetime
    message_count: int
    unread: int  # the contact's messages this operator has not read
    last_body: str | None
    last_author_type: str | None
    status: str = "open"
    snoozed_until: datetime | None = None
    assignee_id: str | None = None
    assignee_name: str | None = None


#: The inbox's views (SPEC 10), each a status and maybe an assignee rule.
VIEWS: Final = ("mine", "unassigned", "open", "snoozed", "resolved")


def contact_summary(row: Any) -> dict[str, Any]:
    """Who a contact is, as the dashboard labels them: verified, unverified (a claim
    that was not proven), email (wrote to the support address: unverified too) or
    anonymous (no claim at all)."""
    if row.verified:
        status = "verified"
    elif row.via_email:
        status = "email"
    elif row.user_id is not None or row.email is not None:
        status = "unverified"
    else:
        status = "anonymous"
    label = row.name or row.email or row.user_id or f"Visitor {row.id[-6:]}"
    return {
        "id": row.id,
        "user_id": row.user_id,
        "email": row.email,
        "name": row.name,
        "status": status,
        "label": label,
    }


def _in_view(view: str | None, operator_id: str) -> list[Any]:
    if view is None:
        return []
    if view == "mine":
        return [Conversation.status == "open", Conversation.assignee_id == operator_id]
    if view == "unassigned":
        return [Conversation.status == "open", Conversation.assignee_id.is_(None)]
    return [Conversation.status == view]


def inbox(
    connection: Connection,
    app_id: str,
    operator_id: str,
    *,
    limit: int = 50,
    view: str | None = None,
    contact_ids: Sequence[str] | None = None,
) -> list[InboxRow]:
    """The app's conversations in ``view`` (one of :data:`VIEWS`; ``None``: all),
    newest activity first, with unread counts for one operator and each one's last
    message; only those of ``contact_ids`` when given (a search's hits)."""
    assignee = aliased(Operator, name="assignee")

    def last_message(column: Any) -> Any:
        return (
            select(column)
            .where(Message.conversation_id == Conversation.id, Message.seq == Conversation.last_seq)
            .correlate(Conversation)
            .scalar_subquery()
        )

    unread = (
        select(func.count())
        .select_from(Message)
        .where(
            Message.conversation_id == Conversation.id,
            Message.author_type == "contact",
            Message.seq > func.coalesce(ConversationRead.last_read_seq, 0),
        )
        .correlate(Conversation, ConversationRead)
        .scalar_subquery()
    )
    rows = connection.execute(
        select(
            Conversation.id.label("conversation_id"),
            Conversation.updated_at,
            Conversation.last_seq,
            Contact.id,
            Contact.user_id,
            Contact.email,
            Contact.name,
            Contact.verified,
            Contact.via_email,
            last_message(Message.body).label("last_body"),
            last_message(Message.author_type).label("last_author"),
            unread.label("unread"),
            Conversation.status,
            Conversation.snoozed_until,
            Conversation.assignee_id,
            assignee.name.label("assignee_name"),
        )
        .join(Contact, Contact.id == Conversation.contact_id)
        .outerjoin(assignee, assignee.id == Conversation.assignee_id)
        .outerjoin(
            ConversationRead,
            and_(
                ConversationRead.conversation_id == Conversation.id,
                ConversationRead.operator_id == operator_id,
            ),
        )
        .where(
            Conversation.app_id == app_id,
            *_in_view(view, operator_id),
            *(() if contact_ids is None else (Conversation.contact_id.in_(list(contact_ids)),)),
        )
        .order_by(Conversation.updated_at.desc(), Conversation.id.desc())
        .limit(max(1, min(limit, 200)))
    )
    return [
        InboxRow(
            id=row.conversation_id,
            contact=contact_summary(row),
            updated_at=row.updated_at,
            message_count=row.last_seq,
            unread=int(row.unread or 0),
            last_body=row.last_body,
            last_author_type=row.last_author,
            status=row.status,
            snoozed_until=row.snoozed_until,
            assignee_id=row.assignee_id,
            assignee_name=row.assignee_name,
        )
        for row in rows
    ]


def conversation_of_app(
    connection: Connection, app_id: str, conversation_id: str
) -> dict[str, Any] | None:
    """A conversation of ``app_id`` and its contact in full, or ``None``."""
    if not well_formed_id(conversation_id, "cnv"):
        return None
    row = connection.execute(
        select(
            Conversation.id.label("conversation_id"),
            Conversation.last_seq,
            Conversation.created_at.label("conversation_created_at"),
            Conversation.updated_at,
            Contact.id,
            Contact.user_id,
            Contact.email,
            Contact.name,
            Contact.verified,
            Contact.via_email,
            Contact.metadata_.label("metadata"),
            Contact.attributes,
            Contact.created_at,
            Contact.last_seen_at,
            Conversation.status,
            Conversation.snoozed_until,
            Conversation.assignee_id,
        )
        .join(Contact, Contact.id == Conversation.contact_id)
        .where(Conversation.id == conversation_id, Conversation.app_id == app_id)
    ).one_or_none()
    if row is None:
        return None
    contact = contact_summary(row)
    contact.update(
        metadata=row.metadata or {},
        attributes=row.attributes or {},
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
    )
    return {
        "id": row.conversation_id,
        "last_seq": row.last_seq,
        "created_at": row.conversation_created_at,
        "updated_at": row.updated_at,
        "status": row.status,
        "snoozed_until": row.snoozed_until,
        "assignee_id": row.assignee_id,
        "contact": contact,
    }


def contact_of_app(connection: Connection, app_id: str, contact_id: str) -> dict[str, Any] | None:
    row = connection.execute(
        select(
            Contact.id,
            Contact.user_id,
            Contact.email,
            Contact.name,
            Contact.verified,
            Contact.via_email,
        ).where(Contact.id == contact_id, Contact.app_id == app_id)
    ).one_or_none()
    return None if row is None else contact_summary(row)


def message_of_app(connection: Connection, app_id: str, message_id: str) -> dict[str, Any] | None:
    """One message (or note) of ``app_id``, as the thread shows it."""
    row = connection.execute(
        select(
            Message.id,
            Message.conversation_id,
            Message.seq,
            Message.author_type,
            Message.author_name,
            Message.body,
            Message.created_at,
        ).where(Message.id == message_id, Message.app_id == app_id)
    ).one_or_none()
    if row is None:
        return None
    return {
        "id": row.id,
        "conversation_id": row.conversation_id,
        "seq": row.seq,
        "author": {"type": row.author_type, "name": row.author_name},
        "body": row.body,
        "created_at": row.created_at.isoformat(),
        "attachments": attachments.for_messages(connection, [row.id]).get(row.id, []),
    }


def latest_messages(
    connection: Connection, conversation_id: str, *, limit: int = 200
) -> list[dict[str, Any]]:
    """The conversation's last ``limit`` messages, oldest first."""
    rows = connection.execute(
        select(
            Message.id,
            Message.seq,
            Message.author_type,
            Message.author_name,
            Message.body,
            Message.created_at,
        )
        .where(Message.conversation_id == conversation_id)
        .order_by(Message.seq.desc())
        .limit(limit)
    ).all()
    files = attachments.for_messages(connection, [row.id for row in rows])
    return [
        {
            "id": row.id,
            "seq": row.seq,
            "author": {"type": row.author_type, "name": row.author_name},
            "body": row.body,
            "created_at": row.created_at,
            "attachments": files.get(row.id, []),
        }
        for row in reversed(rows)
    ]


def mark_read(
    connection: Connection, operator_id: str, conversation_id: str, seq: int, now: datetime
) -> None:
    """Record that the operator has read up to ``seq`` (never moves backwards)."""
    changed = connection.execute(
        update(ConversationRead)
        .where(
            ConversationRead.operator_id == operator_id,
            ConversationRead.conversation_id == conversation_id,
        )
        .values(
            last_read_seq=func.max(ConversationRead.last_read_seq, seq)
            if connection.dialect.name == "sqlite"
            else func.greatest(ConversationRead.last_read_seq, seq),
            read_at=now,
        )
    ).rowcount
    if changed:
        return
    try:
        with connection.begin_nested():
            connection.execute(
                insert(ConversationRead).values(
                    operator_id=operator_id,
                    conversation_id=conversation_id,
                    last_read_seq=seq,
                    read_at=now,
                )
            )
    except IntegrityError:
        mark_read(connection, operator_id, conversation_id, seq, now)
