"""Webhook endpoints, the event outbox, and the delivery queue.

An event is written by :func:`enqueue` inside the transaction of the change it reports,
with one delivery row per endpoint subscribed to it: if the change commits, the event
will be delivered; if it rolls back, no one hears of it. The request that caused it
never waits on an endpoint. The worker (``countersign.webhooks.delivery``) then claims
due deliveries with a lease (:func:`claim_due`), POSTs them, and records the outcome
(:func:`finish_attempt`). :func:`prune` removes settled events once they are old.

Ordering: an endpoint's deliveries go out one at a time in the order they were
written, since only the oldest open one of an endpoint is ever claimable.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import (
    BindParameter,
    Connection,
    Select,
    Update,
    and_,
    bindparam,
    delete,
    exists,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import aliased

from ..core import Secret
from ..vocabulary.clock import utcnow
from ..vocabulary.ids import new_id, well_formed_id
from ..vocabulary.outbound_errors import OutboundError
from ..vocabulary.urls import check_url
from ..vocabulary.webhook_events import EVENT_TYPES, contact_fields
from ..vocabulary.webhook_signature import new_signing_secret
from .apps import get_app
from .encryption import SecretBox
from .errors import StorageError
from .models import (
    OPEN_DELIVERY,
    App,
    Contact,
    UtcDateTime,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

MAX_ENDPOINTS_PER_APP: Final = 20
MAX_ERROR_CHARS: Final = 255
#: ``connection.info`` key set when a transaction enqueued something (see the worker).
ENQUEUED_FLAG: Final = "countersign.webhooks.enqueued"

DELIVERY_STATUSES: Final = ("pending", "failed", "delivered", "dead")


class WebhookError(StorageError):
    code = "webhook_error"


class EndpointNotFound(WebhookError):
    code = "endpoint_not_found"


class EventNotFound(WebhookError):
    code = "event_not_found"


class InvalidEndpoint(WebhookError, ValueError):
    code = "invalid_endpoint"


@dataclass(frozen=True, slots=True)
class EndpointRecord:
    id: str
    app_id: str
    url: str
    event_types: tuple[str, ...]
    allow_private_network: bool
    enabled: bool
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "app_id": self.app_id,
            "url": self.url,
            "events": list(self.event_types),
            "allow_private_network": self.allow_private_network,
            "enabled": self.enabled,
            "created_at": self.created_at.isoformat(),
        }


def _record(row: Any) -> EndpointRecord:
    return EndpointRecord(
        id=row.id,
        app_id=row.app_id,
        url=row.url,
        event_types=tuple(row.event_types or ()),
        allow_private_network=bool(row.allow_private_network),
        enabled=bool(row.enabled),
        created_at=row.created_at,
    )


_ENDPOINT_COLUMNS: Final = (
    WebhookEndpoint.id,
    WebhookEndpoint.app_id,
    WebhookEndpoint.url,
    WebhookEndpoint.event_types,
    WebhookEndpoint.allow_private_network,
    WebhookEndpoint.enabled,
    WebhookEndpoint.created_at,
)


def parse_event_types(types: Iterable[str]) -> tuple[str, ...]:
    """Known event types, de-duplicated in the documented order; at least one."""
    wanted = {name.strip() for name in types if name.strip()}
    unknown = sorted(wanted - set(EVENT_TYPES))
    if unknown:
        raise InvalidEndpoint(
            f"unknown event type {', '.join(unknown)}; known: {', '.join(EVENT_TYPES)}"
        )
    if not wanted:
        raise InvalidEndpoint(f"choose at least one event type of: {', '.join(EVENT_TYPES)}")
    return tuple(name for name in EVENT_TYPES if name in wanted)


def _bump_app(connection: Connection, app_id: str) -> None:
    # Nodes cache each app's subscribed event types (AppConfig.webhook_events); the
    # version bump makes every node reload them within about a second.
    connection.execute(
        update(App).where(App.id == app_id).values(config_version=App.config_version + 1)
    )


def create_endpoint(
    connection: Connection,
    box: SecretBox,
    app_id: str,
    url: str,
    event_types: Iterable[str],
    *,
    allow_private_network: bool = False,
) -> tuple[EndpointRecord, str]:
    """A new endpoint and its signing secret (show it to the caller; stored sealed)."""
    get_app(connection, app_id)
    types = parse_event_types(event_types)
    try:
        check_url(url, allow_private_network=allow_private_network)
    except OutboundError as error:
        hint = ""
        if error.code == "private_address":
            hint = " (pass --allow-private-network to deliver inside your own network)"
        raise InvalidEndpoint(f"{error.message}{hint}") from None
    count = len(list_endpoints(connection, app_id))
    if count >= MAX_ENDPOINTS_PER_APP:
        raise InvalidEndpoint(f"an app has at most {MAX_ENDPOINTS_PER_APP} webhook endpoints")
    endpoint_id = new_id("whe", 9)
    secret = new_signing_secret()
    connection.execute(
        insert(WebhookEndpoint).values(
            id=endpoint_id,
            app_id=app_id,
            url=url,
            event_types=list(types),
            secret_ciphertext=box.seal(Secret(secret), endpoint_id),
            allow_private_network=allow_private_network,
            enabled=True,
            created_at=utcnow(),
        )
    )
    _bump_app(connection, app_id)
    return get_endpoint(connection, app_id, endpoint_id), secret


def get_endpoint(connection: Connection, app_id: str, endpoint_id: str) -> EndpointRecord:
    if not well_formed_id(endpoint_id, "whe"):
        raise EndpointNotFound(f"app {app_id!r} has no webhook endpoint {endpoint_id[:60]!r}")
    row = connection.execute(
        select(*_ENDPOINT_COLUMNS).where(
            WebhookEndpoint.app_id == app_id, WebhookEndpoint.id == endpoint_id
        )
    ).one_or_none()
    if row is None:
        raise EndpointNotFound(f"app {app_id!r} has no webhook endpoint {endpoint_id!r}")
    return _record(row)


def list_endpoints(connection: Connection, app_id: str) -> list[EndpointRecord]:
    get_app(connection, app_id)
    rows = connection.execute(
        select(*_ENDPOINT_COLUMNS)
        .where(WebhookEndpoint.app_id == app_id)
        .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
    )
    return [_record(row) for row in rows]


def remove_endpoint(connection: Connection, app_id: str, endpoint_id: str) -> EndpointRecord:
    """Delete an endpoint with its queue and log: nothing more is sent to it."""
    record = get_endpoint(connection, app_id, endpoint_id)
    # Explicit rather than ON DELETE CASCADE alone: SQLite enforces it only with the
    # foreign_keys pragma, which a copy of the database opened elsewhere may lack.
    deliveries = select(WebhookDelivery.id).where(WebhookDelivery.endpoint_id == endpoint_id)
    connection.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(deliveries)))
    connection.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id))
    connection.execute(delete(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id))
    _bump_app(connection, app_id)
    return record


def set_endpoint_enabled(
    connection: Connection, app_id: str, endpoint_id: str, enabled: bool
) -> EndpointRecord:
    """Pause or resume an endpoint. While disabled it is sent nothing: new events are
    not queued for it, and what was queued waits, in order, until it is enabled again
    (then the backoff of each waiting delivery still applies)."""
    get_endpoint(connection, app_id, endpoint_id)
    connection.execute(
        update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id).values(enabled=enabled)
    )
    _bump_app(connection, app_id)  # every node's cached subscriptions follow
    return get_endpoint(connection, app_id, endpoint_id)


def reveal_signing_secret(
    connection: Connection, box: SecretBox, app_id: str, endpoint_id: str
) -> str:
    if not well_formed_id(endpoint_id, "whe"):
        raise EndpointNotFound(f"app {app_id!r} has no webhook endpoint {endpoint_id[:60]!r}")
    row = connection.execute(
        select(WebhookEndpoint.secret_ciphertext).where(
            WebhookEndpoint.app_id == app_id, WebhookEndpoint.id == endpoint_id
        )
    ).one_or_none()
    if row is None:
        raise EndpointNotFound(f"app {app_id!r} has no webhook endpoint {endpoint_id!r}")
    return box.open(row.secret_ciphertext, endpoint_id).reveal().decode("utf-8")


def subscribed_types(connection: Connection, app_id: str) -> frozenset[str]:
    """The event types some enabled endpoint of the app wants (cached per app)."""
    rows = connection.execute(
        select(WebhookEndpoint.event_types).where(
            WebhookEndpoint.app_id == app_id, WebhookEndpoint.enabled
        )
    )
    return frozenset(name for (types,) in rows for name in types or ())


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
    connection.info[ENQUEUED_FLAG] = True
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
    endpoint that had it; the new deliveries' ids. A delivery of that event still open
    for an endpoint is reused rather than doubled. It goes to the back of the
    endpoint's queue, so it never overtakes events already waiting."""
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
            select(WebhookDelivery.id).where(
                WebhookDelivery.event_id == event_id,
                WebhookDelivery.endpoint_id == target,
                OPEN_DELIVERY,
            )
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
    connection.info[ENQUEUED_FLAG] = True
    return queued


# The queue, as the worker sees it -----------------------------------------------------


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
