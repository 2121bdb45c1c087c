"""Webhook endpoints: the URLs an app's events are POSTed to, and what each wants.

An endpoint is configuration, changed by an operator (CLI or dashboard): its URL, the
event types it subscribed to, its signing secret (stored sealed, shown once) and
whether it is enabled. Every change bumps the app's ``config_version``, so every node's
cached subscriptions (:func:`subscribed_types`) follow within about a second.

What is sent to an endpoint lives in ``webhook_outbox`` (events and deliveries) and
``webhook_queue`` (the worker's leases); removing an endpoint takes its queue and log
with it; the outbox builds on this module, never the other way round.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, delete, insert, select, update

from ..core import Secret
from ..vocabulary.clock import utcnow
from ..vocabulary.ids import new_id, well_formed_id
from ..vocabulary.outbound_errors import OutboundError
from ..vocabulary.standard_webhooks import FORMATS, new_standard_secret
from ..vocabulary.urls import check_url
from ..vocabulary.webhook_events import EVENT_TYPES
from ..vocabulary.webhook_signature import new_signing_secret
from .apps import get_app
from .encryption import SecretBox
from .errors import Invalid, NotFound
from .models import App, WebhookAttempt, WebhookDelivery, WebhookEndpoint

MAX_ENDPOINTS_PER_APP: Final = 20


class EndpointNotFound(NotFound):
    code = "endpoint_not_found"


class InvalidEndpoint(Invalid):
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
    signature_format: str = "countersign"

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "app_id": self.app_id,
            "url": self.url,
            "events": list(self.event_types),
            "allow_private_network": self.allow_private_network,
            "enabled": self.enabled,
            "created_at": self.created_at.isoformat(),
            "format": self.signature_format,
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
        signature_format=row.signature_format,
    )


_ENDPOINT_COLUMNS: Final = (
    WebhookEndpoint.id,
    WebhookEndpoint.app_id,
    WebhookEndpoint.url,
    WebhookEndpoint.event_types,
    WebhookEndpoint.allow_private_network,
    WebhookEndpoint.enabled,
    WebhookEndpoint.created_at,
    WebhookEndpoint.signature_format,
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
    signature_format: str = "countersign",
) -> tuple[EndpointRecord, str]:
    """A new endpoint and its signing secret (show it to the caller; stored sealed).
    ``signature_format`` is one of :data:`FORMATS`: our header, or Standard Webhooks'."""
    if signature_format not in FORMATS:
        raise InvalidEndpoint(f"the signature format is one of {', '.join(FORMATS)}")
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
    secret = new_standard_secret() if signature_format == "standard" else new_signing_secret()
    connection.execute(
        insert(WebhookEndpoint).values(
            id=endpoint_id,
            app_id=app_id,
            url=url,
            event_types=list(types),
            secret_ciphertext=box.seal(Secret(secret), endpoint_id),
            allow_private_network=allow_private_network,
            enabled=True,
            signature_format=signature_format,
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
