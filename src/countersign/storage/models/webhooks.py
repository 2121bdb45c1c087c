"""Webhooks: the endpoints an app sends to, the outbox of events, one delivery per
event and endpoint, and the log of every attempt."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ...vocabulary.clock import utcnow
from .base import Base

# Written bare for the same reason as contacts.VERIFIED_CONTACT: the partial indexes of
# the delivery queue are used only when a query repeats their WHERE terms literally.
OPEN_DELIVERY: Final = text("webhook_deliveries.status IN ('pending', 'failed')")


class WebhookEndpoint(Base):
    """A URL of the customer's that receives signed POSTs for the event types it chose."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    event_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    # AES-GCM(nonce || ciphertext) of the signing secret under the master key, with the
    # endpoint id as associated data, exactly like identity secrets.
    secret_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    allow_private_network: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # How deliveries are signed: "countersign" (X-Countersign-Signature) or "standard"
    # (Standard Webhooks' webhook-id / -timestamp / -signature headers).
    signature_format: Mapped[str] = mapped_column(
        String(16), default="countersign", server_default="countersign"
    )


class WebhookEvent(Base):
    """The outbox: an event, written in the transaction of the change it reports. Its id
    is sent with every attempt so receivers can drop duplicates."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        Index("ix_webhook_events_app_created", "app_id", "created_at"),
        Index("ix_webhook_events_created_at", "created_at"),  # retention: oldest first
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    """One event to one endpoint: ``pending`` (not tried yet) or ``failed`` (a retry is
    scheduled) until ``delivered``, or ``dead`` after the last retry.

    An endpoint's deliveries go out in ``id`` order, one at a time: only the oldest
    open (pending or failed) one of an endpoint may be attempted. ``lease_until`` is how
    a node claims an attempt, so two nodes never send the same attempt.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index(
            "ix_webhook_deliveries_open_endpoint",
            "endpoint_id",
            "id",
            sqlite_where=text("status IN ('pending', 'failed')"),
            postgresql_where=text("status IN ('pending', 'failed')"),
        ),
        Index(
            "ix_webhook_deliveries_open_due",
            "next_attempt_at",
            sqlite_where=text("status IN ('pending', 'failed')"),
            postgresql_where=text("status IN ('pending', 'failed')"),
        ),
        Index("ix_webhook_deliveries_app_id_id", "app_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_events.id", ondelete="CASCADE"), index=True
    )
    endpoint_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    last_status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(String(255), default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookAttempt(Base):
    """One POST of a delivery: the delivery log operators read."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"),
        index=True,
    )
    number: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    error: Mapped[str | None] = mapped_column(String(255), default=None)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
