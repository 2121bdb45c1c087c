"""Custom actions: the calls to the customer's API an app defines, and the log of
every call made."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from ...vocabulary.clock import utcnow
from .base import Base


class Action(Base):
    """A named call to the customer's API that the widget, a bot or the server API can
    make through Countersign (see ``countersign.actions``)."""

    __tablename__ = "actions"
    __table_args__ = (Index("uq_actions_app_name", "app_id", "name", unique=True),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(8))
    url: Mapped[str] = mapped_column(String(2000))
    parameters_schema: Mapped[dict[str, Any]] = mapped_column(JSON)
    # AES-GCM of the signing secret under the master key, the action id as associated
    # data, like identity secrets.
    secret_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    allow_private_network: Mapped[bool] = mapped_column(Boolean, default=False)
    timeout_ms: Mapped[int] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ActionCall(Base):
    """One call of an action and its outcome: the action log. Never a body: parameters
    and answers may hold personal data or the customer's secrets."""

    __tablename__ = "action_calls"
    __table_args__ = (
        Index("ix_action_calls_app_at", "app_id", "at"),
        Index("ix_action_calls_at", "at"),  # retention: oldest first
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    # No foreign keys to actions or contacts: the log outlives both.
    action_id: Mapped[str | None] = mapped_column(String(40), default=None)
    action_name: Mapped[str] = mapped_column(String(64))
    call_id: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(8))  # widget | server
    contact_id: Mapped[str | None] = mapped_column(String(40), default=None)
    identity_status: Mapped[str] = mapped_column(String(16))  # verified|unverified|anonymous
    outcome: Mapped[str] = mapped_column(String(24))
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(255), default=None)
    at: Mapped[datetime] = mapped_column(default=utcnow)
