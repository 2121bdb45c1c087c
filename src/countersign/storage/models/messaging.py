"""What a contact and the team exchange: conversations, messages, tracked events, and
the per-contact stream log a reconnecting widget replays."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from ...vocabulary.clock import utcnow
from .base import Base


class Conversation(Base):
    """A thread between one contact and the team. Owned by a contact: a verified
    contact's conversations follow the user to every verified browser."""

    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_contact_updated", "contact_id", "updated_at"),
        # The inbox's views: an app's conversations in one status, newest first.
        Index("ix_conversations_app_status_updated", "app_id", "status", "updated_at"),
        # The wake loop's question: which snoozes are due (on every node, often).
        Index("ix_conversations_status_snoozed_until", "status", "snoozed_until"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    last_seq: Mapped[int] = mapped_column(Integer, default=0)  # of its messages
    # Read receipts (SPEC 11): how far the contact (any of its devices) has read, and
    # the furthest any operator has; message seqs, never moving back (storage.reads).
    contact_read_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    team_read_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The team's workflow (SPEC 10): open | snoozed | resolved. ``snoozed_until`` is
    # set only while snoozed; the wake loop reopens the conversation at that time.
    status: Mapped[str] = mapped_column(String(16), default="open", server_default="open")
    snoozed_until: Mapped[datetime | None] = mapped_column(default=None)
    # Who handles it. SET NULL: deleting an operator's row leaves it unassigned (a
    # deactivation unassigns explicitly, and announces it).
    assignee_id: Mapped[str | None] = mapped_column(
        ForeignKey("operators.id", ondelete="SET NULL"), default=None, index=True
    )


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        Index("uq_messages_conversation_seq", "conversation_id", "seq", unique=True),
        # A retried send with the same client_id finds the original instead.
        Index(
            "uq_messages_conversation_client_id",
            "conversation_id",
            "client_id",
            unique=True,
            sqlite_where=text("client_id IS NOT NULL"),
            postgresql_where=text("client_id IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    author_type: Mapped[str] = mapped_column(String(16))  # contact | operator | bot | note
    author_name: Mapped[str | None] = mapped_column(String(255), default=None)
    body: Mapped[str] = mapped_column(Text)
    client_id: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_contact_created", "contact_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StreamEvent(Base):
    """What a contact's live stream delivered, kept for replay.

    ``seq`` rises by one per event of the contact, written in the same transaction as
    the change it reports; a reconnecting widget asks for everything after the last
    ``seq`` it saw, so nothing is missed or repeated even if live delivery was lost.
    """

    __tablename__ = "stream_events"
    __table_args__ = (Index("uq_stream_events_contact_seq", "contact_id", "seq", unique=True),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
