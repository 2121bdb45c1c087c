"""The webhook delivery queue as the worker sees it: leases and attempts.

The worker (``countersign.webhooks.delivery``) claims due deliveries with a lease
(:func:`claim_due`), POSTs them, and records the outcome (:func:`finish_attempt`).
Deliveries are written by ``webhook_outbox``; this module only takes and settles them.

Ordering: an endpoint's deliveries go out one at a time in the order they were
written, since only the oldest open one of an endpoint is ever claimable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import (
    BindParameter,
    Connection,
    Select,
    Update,
    bindparam,
    exists,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import aliased

from .models import (
    OPEN_DELIVERY,
    UtcDateTime,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

MAX_ERROR_CHARS: Final = 255


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery this node holds the lease of, with what it needs to send it."""

    delivery_id: int
    attempt: int  # 1 for the first try
    endpoint_id: str
    url: str
    allow_private_network: bool
    secret_ciphertext: bytes
    event_id: str
    event_type: str
    event_created_at: datetime
    app_id: str
    data: dict[str, Any]
    signature_format: str = "countersign"


def _due_statements() -> tuple[Select[Any], Update]:
    """claim_due's two statements, built once: building them (an aliased entity, an
    EXISTS, ORM comparisons) cost ~1 ms per poll, on the event loop on SQLite."""
    earlier = aliased(WebhookDelivery, name="earlier")
    older_open = exists().where(
        earlier.endpoint_id == WebhookDelivery.endpoint_id,
        # Spelled as the partial index's condition, so the index serves it.
        text("earlier.status IN ('pending', 'failed')"),
        earlier.id < WebhookDelivery.id,
    )
    now: BindParameter[datetime] = bindparam("b_now", type_=UtcDateTime())
    free = or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until <= now)
    enabled = exists().where(
        WebhookEndpoint.id == WebhookDelivery.endpoint_id, WebhookEndpoint.enabled
    )
    due = (
        select(WebhookDelivery.id)
        .where(OPEN_DELIVERY, WebhookDelivery.next_attempt_at <= now, free, ~older_open, enabled)
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(bindparam("b_limit"))
    )
    lease = (
        update(WebhookDelivery)
        .where(WebhookDelivery.id == bindparam("b_delivery_id"), OPEN_DELIVERY, free)
        .values(lease_until=bindparam("b_lease_until"), attempts=WebhookDelivery.attempts + 1)
        .returning(WebhookDelivery.attempts)
    )
    return due, lease


_DUE, _LEASE = _due_statements()


def claim_due(
    connection: Connection, now: datetime, lease: timedelta, limit: int = 20
) -> list[Claimed]:
    """Take the lease of up to ``limit`` due deliveries, each the oldest open one of
    its endpoint. The lease is taken by a conditional UPDATE, so when several nodes
    race for a delivery exactly one gets it (PostgreSQL re-checks the condition after
    the row lock; SQLite has one writer at a time), and its attempt count rises with
    it: no attempt is made twice."""
    candidates = connection.execute(_DUE, {"b_now": now, "b_limit": limit}).scalars()
    claimed = []
    for delivery_id in list(candidates):
        attempt = connection.execute(
            _LEASE,
            {"b_delivery_id": delivery_id, "b_now": now, "b_lease_until": now + lease},
        ).scalar_one_or_none()
        if attempt is not None:
            claimed.append(_claimed(connection, int(delivery_id), int(attempt)))
    return claimed


def _claimed(connection: Connection, delivery_id: int, attempt: int) -> Claimed:
    row = connection.execute(
        select(
            WebhookDelivery.endpoint_id,
            WebhookEndpoint.url,
            WebhookEndpoint.allow_private_network,
            WebhookEndpoint.secret_ciphertext,
            WebhookEvent.id,
            WebhookEvent.type,
            WebhookEvent.created_at,
            WebhookEvent.app_id,
            WebhookEvent.data,
            WebhookEndpoint.signature_format,
        )
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.id == delivery_id)
    ).one()
    return Claimed(
        delivery_id=delivery_id,
        attempt=attempt,
        endpoint_id=row.endpoint_id,
        url=row.url,
        allow_private_network=bool(row.allow_private_network),
        secret_ciphertext=row.secret_ciphertext,
        event_id=row.id,
        event_type=row.type,
        event_created_at=row.created_at,
        app_id=row.app_id,
        data=row.data,
        signature_format=row.signature_format,
    )


@dataclass(frozen=True, slots=True)
class AttemptOutcome:
    """What one POST came to. ``retry_at`` is None when the delivery is settled."""

    status_code: int | None
    error: str | None
    duration_ms: int
    delivered: bool
    retry_at: datetime | None


def finish_attempt(
    connection: Connection, claimed: Claimed, outcome: AttemptOutcome, now: datetime
) -> None:
    """Log the attempt and settle or reschedule the delivery, releasing the lease.

    The update applies only while the delivery is still at this attempt: if the lease
    ran out and another node took it over meanwhile, only the log line is written.
    """
    error = outcome.error[:MAX_ERROR_CHARS] if outcome.error else None
    still_there = connection.execute(
        select(WebhookDelivery.id).where(WebhookDelivery.id == claimed.delivery_id)
    ).one_or_none()
    if still_there is None:
        return  # the endpoint was removed meanwhile, with its queue and log
    connection.execute(
        insert(WebhookAttempt).values(
            delivery_id=claimed.delivery_id,
            number=claimed.attempt,
            at=now,
            status_code=outcome.status_code,
            error=error,
            duration_ms=outcome.duration_ms,
        )
    )
    values: dict[str, Any] = {
        "lease_until": None,
        "last_status_code": outcome.status_code,
        "last_error": error,
    }
    if outcome.delivered:
        values.update(status="delivered", delivered_at=now)
    elif outcome.retry_at is None:
        values.update(status="dead")
    else:
        values.update(status="failed", next_attempt_at=outcome.retry_at)
    connection.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == claimed.delivery_id,
            WebhookDelivery.attempts == claimed.attempt,
            OPEN_DELIVERY,
        )
        .values(**values)
    )


def queue_stats(connection: Connection) -> tuple[int, datetime | None]:
    """How many deliveries are open (waiting or being retried), and when the oldest of
    them was written: what an operator graphs to see the queue keep up."""
    depth, oldest = connection.execute(
        select(func.count(), func.min(WebhookDelivery.created_at)).where(OPEN_DELIVERY)
    ).one()
    return int(depth), oldest
