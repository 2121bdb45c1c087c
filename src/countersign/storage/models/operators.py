"""The team: operators' accounts, the one-time links that let an invited operator set
a password, their dashboard sessions, the audit trail of what they did, and how far
each has read a conversation (the inbox's unread markers)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, true
from sqlalchemy.orm import Mapped, mapped_column

from ...vocabulary.clock import utcnow
from .base import Base


class Operator(Base):
    """A team member who logs into the dashboard. ``email`` is stored lowercased (it
    is the login name); only an argon2id hash of the password is kept."""

    __tablename__ = "operators"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))  # owner | agent
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(default=None)
    # Set while the operator is deactivated: they cannot log in and keep no session,
    # but their row stays, so their replies and the audit trail still name them.
    deactivated_at: Mapped[datetime | None] = mapped_column(default=None)
    # An email for a new conversation or a reply in one assigned to them (SPEC 12).
    email_notifications: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class OperatorInvitation(Base):
    """A one-time link that lets an invited operator choose their password. Only the
    SHA-256 of the link's token is stored (as for sessions): a copy of the database
    opens no invitation."""

    __tablename__ = "operator_invitations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    operator_id: Mapped[str] = mapped_column(
        ForeignKey("operators.id", ondelete="CASCADE"), index=True
    )
    # No foreign key: who invited is history, and outlives that operator's row.
    invited_by: Mapped[str | None] = mapped_column(String(40), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    # A newer link for the same operator, or their deactivation, revokes this one.
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class OperatorSession(Base):
    """A dashboard login. Only the SHA-256 of its cookie token is stored."""

    __tablename__ = "operator_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    operator_id: Mapped[str] = mapped_column(
        ForeignKey("operators.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    client_ip: Mapped[str | None] = mapped_column(String(64), default=None)


class OperatorAudit(Base):
    """What operators did to an app's credentials and policy (reveals above all)."""

    __tablename__ = "operator_audit"
    __table_args__ = (Index("ix_operator_audit_app_at", "app_id", "at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    app_id: Mapped[str | None] = mapped_column(
        ForeignKey("apps.id", ondelete="CASCADE"), default=None
    )
    # No foreign key: the record outlives the operator, so the email is kept too.
    operator_id: Mapped[str] = mapped_column(String(40))
    operator_email: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str | None] = mapped_column(String(64), default=None)
    client_ip: Mapped[str | None] = mapped_column(String(64), default=None)


class ConversationRead(Base):
    """How far an operator has read a conversation: the inbox's unread markers."""

    __tablename__ = "conversation_reads"

    operator_id: Mapped[str] = mapped_column(
        ForeignKey("operators.id", ondelete="CASCADE"), primary_key=True
    )
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    last_read_seq: Mapped[int] = mapped_column(Integer, default=0)
    read_at: Mapped[datetime] = mapped_column(default=utcnow)
