"""``countersign webhooks``: endpoints that receive signed POSTs, and their delivery log.

An endpoint's signing secret is printed by ``add`` (and by ``secret``, for an operator
who lost it); ``list`` never shows it. A running server picks up a new or removed
endpoint within about a second, and delivers what ``redeliver`` queues at its next
poll.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..storage import webhook_endpoints, webhook_outbox
from ..vocabulary.standard_webhooks import FORMATS
from ..vocabulary.webhook_events import EVENT_TYPES
from .options import (
    Column,
    add_switch_commands,
    database_options,
    emit,
    json_option,
    open_cli_backend,
    render_table,
    when,
)

_ENDPOINT_COLUMNS = (
    Column("ID", "id"),
    Column("URL", "url"),
    Column("EVENTS", "events", ",".join),
    Column("PRIVATE_NETWORK", "allow_private_network"),
    Column("CREATED", "created_at", when),
)
_DELIVERY_COLUMNS = (
    Column("EVENT", "event_id"),
    Column("TYPE", "event_type"),
    Column("ENDPOINT", "endpoint_id"),
    Column("STATUS", "status"),
    Column("ATTEMPTS", "attempts"),
    Column("LAST", "last_status_code"),
    Column("ERROR", "last_error"),
    Column("CREATED", "created_at", when),
    Column("NEXT_TRY", "next_attempt_at", when),
)

_app_argument = click.argument("app_id", metavar="APP")


def _event_list(value: str) -> list[str]:
    return [name.strip() for name in value.split(",") if name.strip()]


@click.group("webhooks")
def webhooks_group() -> None:
    """Webhook endpoints: signed POSTs to your systems when things happen."""


@webhooks_group.command("add")
@database_options
@json_option
@_app_argument
@click.argument("url")
@click.option(
    "--events",
    required=True,
    metavar="TYPES",
    help=f"Comma-separated event types: {', '.join(EVENT_TYPES)}.",
)
@click.option(
    "--allow-private-network",
    is_flag=True,
    help="Allow loopback and private addresses (an endpoint inside your own network).",
)
@click.option(
    "--format",
    "signature_format",
    type=click.Choice(FORMATS),
    default="countersign",
    show_default=True,
    help="How deliveries are signed: X-Countersign-Signature, or Standard Webhooks' headers.",
)
def add_command(
    data_dir: Path | None,
    database_url: str | None,
    as_json: bool,
    app_id: str,
    url: str,
    events: str,
    allow_private_network: bool,
    signature_format: str,
) -> None:
    """Send APP's events of the chosen types to URL; print the signing secret once."""
    with open_cli_backend(data_dir, database_url) as backend:
        record, secret = backend.database.run_sync(
            lambda c: webhook_endpoints.create_endpoint(
                c,
                backend.box,
                app_id,
                url,
                _event_list(events),
                allow_private_network=allow_private_network,
                signature_format=signature_format,
            )
        )
    check = (
        "Check every delivery's webhook-signature header with this secret (any",
        "Standard Webhooks library, or see docs/webhooks.md). It is shown now;",
    )
    if signature_format == "countersign":
        check = (
            "Check every delivery's X-Countersign-Signature header with this secret",
            "(countersign.webhooks.verify, or see docs/webhooks.md). It is shown now;",
        )
    text = "\n".join(
        [
            f"  id              {record.id}",
            f"  url             {record.url}",
            f"  events          {', '.join(record.event_types)}",
            f"  format          {record.signature_format}",
            f"  signing_secret  {secret}",
            "",
            *check,
            f"show it again with: countersign webhooks secret {app_id} {record.id}",
        ]
    )
    emit({**record.as_dict(), "signing_secret": secret}, as_json=as_json, text=text)


@webhooks_group.command("list")
@database_options
@json_option
@_app_argument
def list_command(
    data_dir: Path | None, database_url: str | None, as_json: bool, app_id: str
) -> None:
    """List APP's webhook endpoints (never their secrets)."""
    with open_cli_backend(data_dir, database_url) as backend:
        records = backend.database.run_sync(lambda c: webhook_endpoints.list_endpoints(c, app_id))
    rows = [record.as_dict() for record in records]
    emit({"data": rows}, as_json=as_json, text=render_table(rows, _ENDPOINT_COLUMNS))


@webhooks_group.command("remove")
@database_options
@json_option
@_app_argument
@click.argument("endpoint_id", metavar="ID")
def remove_command(
    data_dir: Path | None, database_url: str | None, as_json: bool, app_id: str, endpoint_id: str
) -> None:
    """Remove endpoint ID: nothing more is sent to it, its queue is dropped."""
    with open_cli_backend(data_dir, database_url) as backend:
        record = backend.database.run_sync(
            lambda c: webhook_endpoints.remove_endpoint(c, app_id, endpoint_id)
        )
    emit(
        {**record.as_dict(), "removed": True},
        as_json=as_json,
        text=f"Removed webhook endpoint {record.id} ({record.url}) of {app_id}.",
    )


add_switch_commands(
    webhooks_group,
    noun="webhook endpoint",
    metavar="ID",
    effects=(
        "send it nothing and queue nothing new for it; what was queued waits",
        "resume sending to it, the waiting deliveries first, in order",
    ),
    switch=webhook_endpoints.set_endpoint_enabled,
)


@webhooks_group.command("secret")
@database_options
@json_option
@_app_argument
@click.argument("endpoint_id", metavar="ID")
def secret_command(
    data_dir: Path | None, database_url: str | None, as_json: bool, app_id: str, endpoint_id: str
) -> None:
    """Show the signing secret of endpoint ID again."""
    with open_cli_backend(data_dir, database_url) as backend:
        secret = backend.database.run_sync(
            lambda c: webhook_endpoints.reveal_signing_secret(c, backend.box, app_id, endpoint_id)
        )
    emit({"id": endpoint_id, "signing_secret": secret}, as_json=as_json, text=secret)


@webhooks_group.command("deliveries")
@database_options
@json_option
@_app_argument
@click.option("--endpoint", "endpoint_id", metavar="ID", help="Only this endpoint's.")
@click.option("--event", "event_id", metavar="EVENT_ID", help="Only this event's.")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
def deliveries_command(
    data_dir: Path | None,
    database_url: str | None,
    as_json: bool,
    app_id: str,
    endpoint_id: str | None,
    event_id: str | None,
    limit: int,
) -> None:
    """The delivery log: newest first, with each attempt's status code or error."""
    with open_cli_backend(data_dir, database_url) as backend:
        rows: list[dict[str, Any]] = backend.database.run_sync(
            lambda c: webhook_outbox.list_deliveries(
                c, app_id, endpoint_id=endpoint_id, event_id=event_id, limit=limit
            )
        )
    emit({"data": rows}, as_json=as_json, text=render_table(rows, _DELIVERY_COLUMNS))


@webhooks_group.command("redeliver")
@database_options
@json_option
@_app_argument
@click.argument("event_id")
@click.option("--endpoint", "endpoint_id", metavar="ID", help="Only to this endpoint.")
def redeliver_command(
    data_dir: Path | None,
    database_url: str | None,
    as_json: bool,
    app_id: str,
    event_id: str,
    endpoint_id: str | None,
) -> None:
    """Queue EVENT_ID again (same id, same body) for its endpoints, or for one."""
    with open_cli_backend(data_dir, database_url) as backend:
        queued = backend.database.run_sync(
            lambda c: webhook_outbox.redeliver(c, app_id, event_id, endpoint_id=endpoint_id)
        )
    emit(
        {"event_id": event_id, "deliveries": queued},
        as_json=as_json,
        text=f"Queued {event_id} again ({len(queued)} delivery(ies)); "
        f"a running server sends it within a second or so.",
    )
