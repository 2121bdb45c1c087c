"""Read receipts (SPEC 11): how far the contact, and the team, have read a
conversation, as message ``seq`` numbers that never move back. Rows and queries only;
what a read announces is :mod:`countersign.messaging.reads`'.

The contact's position (``conversations.contact_read_seq``, read with
:func:`contact_read_seq`) is shared by every device of the contact: the widget's unread
badge and "the user has not read this message" both come from it. The team's
(``conversations.team_read_seq``) is the furthest any operator has read; the
per-operator unread markers stay in ``conversation_reads`` (:mod:`.inbox`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, func, select, update

from ..vocabulary.ids import well_formed_id
from .conversations import NOTE
from .models import Conversation, Message


class BeyondLastMessage(ValueError):
    """``up_to_seq`` names a message the conversation does not have (yet)."""

    def __init__(self, last_seq: int) -> None:
        super().__init__(f"up_to_seq is beyond the conversation's last message ({last_seq})")
        self.last_seq = last_seq


@dataclass(frozen=True, slots=True)
class Read:
    app_id: str
    contact_id: str
    up_to_seq: int  # where the position is now
    moved: bool  # False: it was already there or further


def _last_visible_seq(connection: Connection, conversation_id: str, at_most: int | None) -> int:
    """The seq of the last message the contact can see (notes are the team's only; a
    position on one would tell the contact that a note exists)."""
    query = select(func.max(Message.seq)).where(
        Message.conversation_id == conversation_id, Message.author_type != NOTE
    )
    if at_most is not None:
        query = query.where(Message.seq <= at_most)
    return int(connection.execute(query).scalar_one_or_none() or 0)


def mark_contact_read(
    connection: Connection, contact_id: str, conversation_id: str, up_to_seq: int
) -> Read | None:
    """Move the contact's position to ``up_to_seq`` (never back). ``None``: the
    conversation is not this contact's. Raises :class:`BeyondLastMessage`."""
    if not well_formed_id(conversation_id, "cnv"):
        return None
    row = connection.execute(
        select(Conversation.app_id, Conversation.contact_read_seq).where(
            Conversation.id == conversation_id, Conversation.contact_id == contact_id
        )
    ).one_or_none()
    if row is None:
        return None
    last = _last_visible_seq(connection, conversation_id, None)
    if up_to_seq > last:
        raise BeyondLastMessage(last)
    moved = connection.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.contact_read_seq < up_to_seq)
        .values(contact_read_seq=up_to_seq)
    ).rowcount
    if moved:
        return Read(row.app_id, contact_id, up_to_seq, True)
    return Read(row.app_id, contact_id, max(row.contact_read_seq, up_to_seq), False)


def mark_team_read(
    connection: Connection, app_id: str, conversation_id: str, seq: int
) -> Read | None:
    """An operator of ``app_id`` has read up to ``seq``: move the team's position to
    the last message the contact can see at or below it. ``None``: no such
    conversation in the app."""
    if not well_formed_id(conversation_id, "cnv"):
        return None
    row = connection.execute(
        select(Conversation.contact_id, Conversation.team_read_seq).where(
            Conversation.id == conversation_id, Conversation.app_id == app_id
        )
    ).one_or_none()
    if row is None:
        return None
    up_to = _last_visible_seq(connection, conversation_id, seq)
    moved = connection.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.team_read_seq < up_to)
        .values(team_read_seq=up_to)
    ).rowcount
    return Read(app_id, row.contact_id, max(row.team_read_seq, up_to), bool(moved))


def contact_read_seq(connection: Connection, conversation_id: str) -> int | None:
    """How far the contact has read ``conversation_id`` (any device): every message
    with a greater ``seq`` is unread by them. ``None``: no such conversation."""
    if not well_formed_id(conversation_id, "cnv"):
        return None
    value = connection.execute(
        select(Conversation.contact_read_seq).where(Conversation.id == conversation_id)
    ).scalar_one_or_none()
    return None if value is None else int(value)
