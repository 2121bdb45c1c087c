"""The verification log's tables: a row per failure or unverified claim, and counts of
the successes per app, secret and minute (SPEC 9: a row per verified identify cost
more than the rest of a returning visitor's identify)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ...vocabulary.clock import utcnow
from .base import Base


class VerificationLogEntry(Base):
    """Every identify outcome, with a diagnosis for failures. Never a hash."""

    __tablename__ = "verification_log"
    __table_args__ = (Index("ix_verification_log_app_at", "app_id", "at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    outcome: Mapped[str] = mapped_column(String(16))  # verified|unverified|refused|anonymous
    method: Mapped[str] = mapped_column(String(8))  # hash | jwt | none
    code: Mapped[str] = mapped_column(String(40))  # diagnosis code, "ok" when verified
    hint: Mapped[str] = mapped_column(Text, default="")
    identifier: Mapped[str | None] = mapped_column(String(255), default=None)
    secret_id: Mapped[str | None] = mapped_column(String(40), default=None)
    origin: Mapped[str | None] = mapped_column(String(255), default=None)
    client_ip: Mapped[str | None] = mapped_column(String(64), default=None)


#: ``secret_id`` of a success verified by no recorded secret or key (a JWKS key of
#: no id): the key's columns hold no NULL, so that the upsert's conflict target holds.
NO_SECRET = ""


class VerificationCount(Base):
    """How many identifies of an app verified with one secret (or public key) in one
    UTC minute. The recorder adds to it once per flush; nothing per person is kept
    here (each contact has its ``last_verified_at``)."""

    __tablename__ = "verification_counts"
    # Retention deletes by minute, across apps.
    __table_args__ = (Index("ix_verification_counts_minute", "minute"),)

    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True)
    secret_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    minute: Mapped[datetime] = mapped_column(primary_key=True)  # the minute's start, UTC
    count: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
