"""The webhook outbox: events, their deliveries, the delivery log, and retention.

An event is written by :func:`enqueue` inside the transaction of the change it reports,
with one delivery row per endpoint subscribed to it: if the change commits, the event
will be delivered; if it rolls back, no one hears of it. The request that caused it
never waits on an endpoint. :func:`redeliver` queues an event again,
:func:`list_deliveries` reads back what was sent and how each attempt went, and
:func:`prune` removes settled events once they are old.

Sending is the worker's (``countersign.webhooks.delivery``), through ``webhook_queue``;
the endpoints themselves are ``webhook_endpoints``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, and_, delete, exists, insert, or_, select, text

from ..vocabulary.clock import utcnow
from ..vocabulary.ids import new_id, well_formed_id
from ..vocabulary.webhook_events import contact_fields
from .apps import get_app
from .database import transaction_notes
from .errors import NotFound
from .models import (
    OPEN_DELIVERY,
    Contact,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from .webhook_endpoints import EndpointNotFound, get_endpoint

#: ``connection.info`` key set when a transaction enqueued something (see the worker).
ENQUEUED_FLAG: Final = "countersign.webhooks.enqueued"

DELIVERY_STATUSES: Final = ("pending", "failed", "delivered", "dead")


class EventNotFound(NotFound):
    code = "event_not_found"


# The outbox ---------------------------------------------------------------------------


def _contact_payload(connection: Connection, contact_id: str) -> dict[str, Any]:
    row = connection.execute(
        select(Contact.verified, Contact.user_id, Contact.email).where(Contact.id == contact_id)
    ).one()
    return contact_fields(
        contact_id,
        verified=bool(row.verified),
        claimed=row.user_id is not None or row.email is not None,
        user_id=row.user_id,
        email=row.email,
    )


def enqueue(
    connection: Connection,
    app_id: str,
    event_type: str,
    data: dict[str, Any],
    now: datetime,
    *,
    contact_id: str | None = None,
) -> str | None:
    """Write ``event_type`` to the outbox with a delivery per subscribed endpoint, in
    the caller's transaction; the event id, or ``None`` when no endpoint wants it.

    With ``contact_id`` the payload gains ``contact`` and ``identity`` (see
    :func:`countersign.vocabulary.webhook_events.contact_fields`): looked up only when someone
    listens, so an app without webhooks pays one indexed read here.
    """
    rows = connection.execute(
        select(WebhookEndpoint.id, WebhookEndpoint.event_types).where(
            WebhookEndpoint.app_id == app_id, WebhookEndpoint.enabled
        )
    ).all()
    endpoints = [row.id for row in rows if event_type in (row.event_types or ())]
    if not endpoints:
        return None
    if contact_id is not None:
        data = {**data, **_contact_payload(connection, contact_id)}
    event_id = new_id("evt", 12)
    connection.execute(
        insert(WebhookEvent).values(
            id=event_id, app_id=app_id, type=event_type, data=data, created_at=now
        )
    )
    connection.execute(
        insert(WebhookDelivery),
        [
            {
                "app_id": app_id,
                "event_id": event_id,
                "endpoint_id": endpoint_id,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for endpoint_id in endpoints
        ],
    )
    transaction_notes(connection)[ENQUEUED_FLAG] = True
    return event_id


def redeliver(
    connection: Connection,
    app_id: str,
    event_id: str,
    *,
    endpoint_id: str | None = None,
    now: datetime | None = None,
) -> list[int]:
    """Queue ``event_id`` again (same id, same body) for ``endpoint_id``, or for every
    endpoint that had it; the new deliveries' ids. A delivery of that event still
    waiting for an endpoint is reused rather than doubled; one in flight (leased: its
    POST may already have been answered) is not, or the redelivery would be lost when
    it settles. It goes to the back of the endpoint's queue, so it never overtakes
    events already waiting."""
    now = now or utcnow()
    if not well_formed_id(event_id, "evt"):
        raise EventNotFound(f"app {app_id!r} has no webhook event {event_id[:60]!r}")
    found = connection.execute(
        select(WebhookEvent.id).where(WebhookEvent.app_id == app_id, WebhookEvent.id == event_id)
    ).one_or_none()
    if found is None:
        raise EventNotFound(f"app {app_id!r} has no webhook event {event_id!r}")
    if endpoint_id is not None:
        targets = [get_endpoint(connection, app_id, endpoint_id).id]
    else:
        targets = list(
            connection.execute(
                select(WebhookDelivery.endpoint_id)
                .where(WebhookDelivery.event_id == event_id)
                .distinct()
            ).scalars()
        )
        if not targets:
            raise EndpointNotFound(f"event {event_id!r} was not sent to any endpoint")
    queued = []
    for target in sorted(targets):
        open_id = connection.execute(
            select(WebhookDelivery.id)
            .where(
                WebhookDelivery.event_id == event_id,
                WebhookDelivery.endpoint_id == target,
                OPEN_DELIVERY,
                or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until <= now),
            )
            .limit(1)
        ).scalar_one_or_none()
        if open_id is not None:
            queued.append(int(open_id))
            continue
        new_id_ = connection.execute(
            insert(WebhookDelivery)
            .values(
                app_id=app_id,
                event_id=event_id,
                endpoint_id=target,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
            .returning(WebhookDelivery.id)
        ).scalar_one()
        queued.append(int(new_id_))
    transaction_notes(connection)[ENQUEUED_FLAG] = True
    return queued


# The delivery log ---------------------------------------------------------------------


def list_deliveries(
    connection: Connection,
    app_id: str,
    *,
    endpoint_id: str | None = None,
    event_id: str | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """The app's latest deliveries, newest first, each with its attempts (oldest first)."""
    get_app(connection, app_id)
    conditions = [WebhookDelivery.app_id == app_id]
    if endpoint_id is not None:
        get_endpoint(connection, app_id, endpoint_id)
        conditions.append(WebhookDelivery.endpoint_id == endpoint_id)
    if event_id is not None:
        conditions.append(WebhookDelivery.event_id == event_id)
    rows = connection.execute(
        select(
            WebhookDelivery.id,
            WebhookDelivery.event_id,
            WebhookEvent.type,
            WebhookDelivery.endpoint_id,
            WebhookEndpoint.url,
            WebhookDelivery.status,
            WebhookDelivery.attempts,
            WebhookDelivery.next_attempt_at,
            WebhookDelivery.last_status_code,
            WebhookDelivery.last_error,
            WebhookDelivery.delivered_at,
            WebhookDelivery.created_at,
        )
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(and_(*conditions))
        .order_by(WebhookDelivery.id.desc())
        .limit(max(1, min(limit, 500)))
    ).all()
    attempts = _attempts_of(connection, [row.id for row in rows])
    return [
        {
            "id": row.id,
            "event_id": row.event_id,
            "event_type": row.type,
            "endpoint_id": row.endpoint_id,
            "url": row.url,
            "status": row.status,
            "attempts": row.attempts,
            "next_attempt_at": (
                row.next_attempt_at.isoformat() if row.status in ("pending", "failed") else None
            ),
            "last_status_code": row.last_status_code,
            "last_error": row.last_error,
            "delivered_at": row.delivered_at.isoformat() if row.delivered_at else None,
            "created_at": row.created_at.isoformat(),
            "log": attempts.get(row.id, []),
        }
        for row in rows
    ]


def _attempts_of(
    connection: Connection, delivery_ids: Sequence[int]
) -> dict[int, list[dict[str, Any]]]:
    if not delivery_ids:
        return {}
    rows = connection.execute(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id.in_(delivery_ids))
        .order_by(WebhookAttempt.delivery_id, WebhookAttempt.id)
    )
    found: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        found.setdefault(row.delivery_id, []).append(
            {
                "attempt": row.number,
                "at": row.at.isoformat(),
                "status_code": row.status_code,
                "error": row.error,
                "duration_ms": row.duration_ms,
            }
        )
    return found


# Retention ----------------------------------------------------------------------------

SETTLED_DELIVERY: Final = text("webhook_deliveries.status IN ('delivered', 'dead')")


def prune(connection: Connection, older_than: datetime, limit: int) -> int:
    """Remove up to ``limit`` events written before ``older_than`` (oldest first) whose
    every delivery is settled, with their deliveries and attempts; how many events went.

    An event with an open delivery stays, whatever its age: it has not been delivered
    yet. Several nodes may prune at once: on PostgreSQL each locks the events it chose
    and skips those another holds, so none waits and no row is counted twice; SQLite has
    one writer at a time.
    """
    has_open = exists().where(WebhookDelivery.event_id == WebhookEvent.id, OPEN_DELIVERY)
    chosen = list(
        connection.execute(
            select(WebhookEvent.id)
            .where(WebhookEvent.created_at < older_than, ~has_open)
            .order_by(WebhookEvent.created_at)
            .limit(limit)
            # The lock also makes a concurrent redeliver() of a chosen event wait for
            # this transaction, then fail on its foreign key rather than queue a
            # delivery that the deletes below would take with them.
            .with_for_update(skip_locked=True)
        ).scalars()
    )
    if not chosen:
        return 0
    # Only settled deliveries, and the event only once it has none left: a delivery
    # redelivered since the select above (committed before these statements, which each
    # see the latest commits) keeps its event.
    settled = select(WebhookDelivery.id).where(
        WebhookDelivery.event_id.in_(chosen), SETTLED_DELIVERY
    )
    connection.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(settled)))
    connection.execute(
        delete(WebhookDelivery).where(WebhookDelivery.event_id.in_(chosen), SETTLED_DELIVERY)
    )
    any_delivery = exists().where(WebhookDelivery.event_id == WebhookEvent.id)
    removed = connection.execute(
        delete(WebhookEvent).where(WebhookEvent.id.in_(chosen), ~any_delivery)
    )
    return int(removed.rowcount)
