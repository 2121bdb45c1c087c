"""Uploaded files: one row of metadata each, and the bytes in chunks beside it.

The bytes live in the database by default so that every node can read them (SQLite's
blob, PostgreSQL's ``bytea``); a file is split into chunks of ``CHUNK_BYTES`` so that
serving it streams a chunk at a time instead of holding the whole file.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from ...vocabulary.clock import utcnow
from .base import Base


class Attachment(Base):
    """A file one contact (or the team, ``contact_id`` NULL) uploaded to an app. Free
    until a message claims it (``message_id``); deleting the message, its conversation
    or its contact deletes the file with it."""

    __tablename__ = "attachments"
    __table_args__ = (
        Index("ix_attachments_message", "message_id"),
        # The retention job's question: unattached uploads older than a day.
        Index("ix_attachments_unattached_created", "message_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[str | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), default=None, index=True
    )
    message_id: Mapped[str | None] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), default=None
    )
    name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AttachmentChunk(Base):
    __tablename__ = "attachment_chunks"

    attachment_id: Mapped[str] = mapped_column(
        ForeignKey("attachments.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
