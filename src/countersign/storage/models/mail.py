"""Email: the mail outbox (one row per email to send, gathered over a quiet period),
the inbound log (every mail that came in, accepted or refused, with its reason), and
which widgets and dashboards are open on which node (presence), so a node knows
whether the contact or the operator would see a message without an email."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from ...vocabulary.clock import utcnow
from .base import Base

# Written bare, as the partial indexes spell it (see webhooks.OPEN_DELIVERY).
OPEN_MAIL: Final = text("mail_outbox.status = 'pending'")


class MailOutbox(Base):
    """One email: ``pending`` (gathering messages until ``next_attempt_at``, or
    waiting for a retry) until ``sent``, ``dead`` after the last retry, or
    ``cancelled`` (read in the widget meanwhile, or nowhere to send it: ``reason``).

    ``kind`` is ``contact`` (continuity: the team's messages the contact has not read,
    seqs ``from_seq``..``up_to_seq`` of the conversation), ``operator`` (a
    contact's message for an operator) or ``digest`` (the contact's notifications of
    one delay period, named in :class:`MailDigestItem`; no conversation, and
    ``up_to_seq`` counts the notifications gathered). While ``gathering``, later
    messages (notifications) of the same ``batch_key`` join the row instead of making
    another email; the first claim ends the gathering, so one posted while it is being
    sent gets a new row.
    """

    __tablename__ = "mail_outbox"
    __table_args__ = (
        Index(
            "uq_mail_outbox_gathering",
            "batch_key",
            unique=True,
            sqlite_where=text("gathering"),
            postgresql_where=text("gathering"),
        ),
        Index(
            "ix_mail_outbox_open_due",
            "next_attempt_at",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_mail_outbox_app_created", "app_id", "created_at"),
        Index("ix_mail_outbox_conversation", "conversation_id"),
        Index("ix_mail_outbox_message_id", "message_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # contact | operator | digest
    batch_key: Mapped[str] = mapped_column(String(120))
    gathering: Mapped[bool] = mapped_column(Boolean, default=True)
    # NULL for a digest: notifications belong to no conversation.
    conversation_id: Mapped[str | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), default=None
    )
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    operator_id: Mapped[str | None] = mapped_column(
        ForeignKey("operators.id", ondelete="CASCADE"), default=None
    )
    from_seq: Mapped[int] = mapped_column(Integer)
    up_to_seq: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    reason: Mapped[str | None] = mapped_column(String(64), default=None)
    to_address: Mapped[str | None] = mapped_column(String(320), default=None)
    subject: Mapped[str | None] = mapped_column(String(255), default=None)
    # The email's Message-ID, fixed at the first attempt: a retry is the same email.
    message_id: Mapped[str | None] = mapped_column(String(255), default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(String(255), default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MailDigestItem(Base):
    """A notification a digest email gathered. Deleting the notification (the backend
    took it back) drops it from the digest; whether it is still unread is asked when
    the email is due."""

    __tablename__ = "mail_digest_items"
    __table_args__ = (Index("ix_mail_digest_items_notification", "notification_id"),)

    mail_id: Mapped[str] = mapped_column(
        ForeignKey("mail_outbox.id", ondelete="CASCADE"), primary_key=True
    )
    notification_id: Mapped[str] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE"), primary_key=True
    )


class MailInbound(Base):
    """A mail that arrived (SMTP or HTTP): accepted into a conversation, ignored (a
    bounce, an auto-reply) or refused, with why. A refused mail's body is not kept."""

    __tablename__ = "mail_inbound"
    __table_args__ = (
        Index("ix_mail_inbound_app_at", "app_id", "at"),
        Index("ix_mail_inbound_message_id", "message_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # NULL: the mail named no app of ours.
    app_id: Mapped[str | None] = mapped_column(
        ForeignKey("apps.id", ondelete="CASCADE"), default=None
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    channel: Mapped[str] = mapped_column(String(8))  # smtp | http
    outcome: Mapped[str] = mapped_column(String(16))  # accepted | ignored | refused
    reason: Mapped[str] = mapped_column(String(64))
    from_address: Mapped[str | None] = mapped_column(String(320), default=None)
    message_id: Mapped[str | None] = mapped_column(String(255), default=None)
    conversation_id: Mapped[str | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL"), default=None
    )


class NodePresence(Base):
    """One node's open widgets (``contact``) and dashboards (``operator``), refreshed
    by that node every few seconds: a row older than a few refreshes is a node gone."""

    __tablename__ = "node_presence"
    __table_args__ = (Index("ix_node_presence_subject", "kind", "subject_id"),)

    node_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    subject_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)
