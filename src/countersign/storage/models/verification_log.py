"""The verification log's table: one row per identify outcome."""

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
