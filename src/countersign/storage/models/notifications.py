"""The notification inbox: notifications with their states, the app's categories, each
user's preferences, and the idempotency keys of the backend's sends (SPEC 13)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ...vocabulary.clock import utcnow
from .base import Base


class Notification(Base):
    """One notification of one contact. States are moments, not flags: ``seen_at``
    (the bell's badge was cleared), ``read_at``, ``archived_at``; each ``None`` until
    it happens, and read and archived can be undone."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_contact_created", "contact_id", "created_at"),
        # The widget's views and counts: a contact's notifications by category.
        Index("ix_notifications_contact_category", "contact_id", "category"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str | None] = mapped_column(Text, default=None)
    url: Mapped[str | None] = mapped_column(String(2000), default=None)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    category: Mapped[str] = mapped_column(String(64), default="general", server_default="general")
    actions: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list, server_default="[]")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    seen_at: Mapped[datetime | None] = mapped_column(default=None)
    read_at: Mapped[datetime | None] = mapped_column(default=None)
    archived_at: Mapped[datetime | None] = mapped_column(default=None)


class NotificationCategory(Base):
    """A category an app declared, with its label and what a user gets by default."""

    __tablename__ = "notification_categories"

    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    label: Mapped[str] = mapped_column(String(255))
    default_in_app: Mapped[bool] = mapped_column(Boolean, default=True)
    default_email: Mapped[bool] = mapped_column(Boolean, default=False)


class NotificationPreference(Base):
    """What one user chose for one category; absent, the app's default holds."""

    __tablename__ = "notification_preferences"

    contact_id: Mapped[str] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    category: Mapped[str] = mapped_column(String(64), primary_key=True)
    in_app: Mapped[bool] = mapped_column(Boolean)
    email: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class NotificationSend(Base):
    """A send made with an ``idempotency_key``: the key is the primary key with its
    app, so two concurrent repeats cannot both insert (the database refuses the
    second), and the answer the first got is kept to give the repeats."""

    __tablename__ = "notification_sends"

    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))  # SHA-256 of the request body
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
