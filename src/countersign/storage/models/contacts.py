"""Who is on the other end: contacts (end users, verified or not) and visitors (browsers).

The partial unique indexes here are what keep a verified user one row per app while
an unverified claim to the same id stays apart from it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, String, false, text
from sqlalchemy.orm import Mapped, mapped_column

from ...vocabulary.clock import utcnow
from .base import Base


class Contact(Base):
    """An end user. Verified contacts are unique per (app, user_id) and (app, email).

    Anonymous and unverified contacts belong to one visitor each: an unverified claim
    to be user 1235 never shares a row, or any data, with the verified user 1235.
    """

    __tablename__ = "contacts"
    __table_args__ = (
        Index(
            "uq_contacts_verified_user_id",
            "app_id",
            "user_id",
            unique=True,
            sqlite_where=text("verified AND user_id IS NOT NULL"),
            postgresql_where=text("verified AND user_id IS NOT NULL"),
        ),
        Index(
            "uq_contacts_verified_email",
            "app_id",
            "email",
            unique=True,
            sqlite_where=text("verified AND email IS NOT NULL"),
            postgresql_where=text("verified AND email IS NOT NULL"),
        ),
        # The Contacts page and the search: an app's contacts, most recently seen first.
        Index("ix_contacts_app_last_seen", "app_id", "last_seen_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str | None] = mapped_column(String(255), default=None)
    email: Mapped[str | None] = mapped_column(String(255), default=None)
    name: Mapped[str | None] = mapped_column(String(255), default=None)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    # True for an email contact: someone who wrote to the support address. Never
    # verified (anyone can write a From line), never merged into a verified contact.
    via_email: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Set by mail to unsub+TOKEN@ (the List-Unsubscribe of every email sent).
    mail_opt_out: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The last seq of this contact's live stream (see StreamEvent).
    stream_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # When an identify last verified this contact (written by the recorder's flush, so
    # up to a quarter second late); None for one never verified.
    last_verified_at: Mapped[datetime | None] = mapped_column(default=None)


class Visitor(Base):
    """A browser, by the random id the server gave it. Its own contact (created when
    first needed) holds what it did while anonymous or unverified;
    ``linked_contact_id`` is the verified contact it proved to be.

    The ``session_*`` columns are the browser's session: its sealed tokens
    (server/session_tokens.py) name this row, the epoch they were issued in and the
    secret that verified them, and act as ``session_contact_id`` with
    ``session_status``. A visitor serves one identity: logout or a change of identity
    retires it (``retired_at``; the epoch moves on, ending every token of it) and the
    browser continues as a new visitor.
    """

    __tablename__ = "visitors"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[str | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), default=None
    )
    linked_contact_id: Mapped[str | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
    session_contact_id: Mapped[str | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), default=None
    )
    session_status: Mapped[str | None] = mapped_column(String(16), default=None)
    session_secret_id: Mapped[str | None] = mapped_column(String(40), default=None)
    retired_at: Mapped[datetime | None] = mapped_column(default=None)


# Written bare, as the partial unique indexes spell it: SQLite uses a partial index only
# when the query repeats the index's WHERE terms, and SQLAlchemy writes a boolean column
# as ``verified = 1`` on SQLite, which does not match. Without this, finding a verified
# contact scans every contact of the app.
VERIFIED_CONTACT: Final = text("contacts.verified")
