"""``countersign actions``: define the custom actions an app's widget and backend call.

``add`` checks the whole definition before storing it (the URL through the outbound
guard, so a private address is refused unless ``--allow-private-network`` says it is
meant) and prints the action's signing secret once: the customer's API verifies
``X-Countersign-Signature`` with it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ..storage import actions
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

_ACTION_COLUMNS = (
    Column("NAME", "name"),
    Column("METHOD", "method"),
    Column("URL", "url"),
    Column("TIMEOUT", "timeout_seconds", lambda seconds: f"{seconds:g}s"),
    Column("PRIVATE_OK", "allow_private_network"),
    Column("ENABLED", "enabled"),
    Column("CREATED", "created_at", when),
)
_LOG_COLUMNS = (
    Column("TIME", "at", when),
    Column("ACTION", "action_name"),
    Column("SOURCE", "source"),
    Column("IDENTITY", "identity_status"),
    Column("OUTCOME", "outcome"),
    Column("STATUS", "status_code"),
    Column("MS", "duration_ms"),
    Column("CALL", "call_id"),
    Column("ERROR", "error"),
)

_app_argument = click.argument("app_id", metavar="APP")


def _schema(value: str | None) -> Any:
    """``--schema``: JSON text, or ``@PATH`` of a file holding it."""
    if value is None:
        return None
    text = value
    if value.startswith("@"):
        try:
            text = Path(value[1:]).read_text(encoding="utf-8")
        except OSError as error:
            raise click.BadParameter(f"cannot read {value[1:]}: {error.strerror}") from None
    try:
        return json.loads(text)
    except ValueError as error:
        raise click.BadParameter(f"not JSON: {error}") from None


@click.group("actions")
def actions_group() -> None:
    """Custom actions: calls to your API made through Countersign, signed, carrying a
    user only when Countersign verified it."""


@actions_group.command("add")
@database_options
@json_option
@click.option("--url", required=True, help="Where the action is sent (http or https).")
@click.option(
    "--method",
    type=click.Choice(actions.METHODS, case_sensitive=False),
    default="POST",
    show_default=True,
)
@click.option("--schema", metavar="JSON|@FILE", help="JSON Schema (2020-12) of the parameters.")
@click.option(
    "--timeout",
    type=click.FloatRange(actions.MIN_TIMEOUT_SECONDS, actions.MAX_TIMEOUT_SECONDS),
    default=actions.DEFAULT_TIMEOUT_SECONDS,
    show_default=True,
    help="Seconds the whole call may take.",
)
@click.option(
    "--allow-private-network",
    is_flag=True,
    help="Let the URL be (or resolve to) a loopback or private address. Only for a "
    "service you run next to Countersign on purpose.",
)
@_app_argument
@click.argument("name")
def add_command(
    data_dir: Path | None,
    database_url: str | None,
    as_json: bool,
    url: str,
    method: str,
    schema: str | None,
    timeout: float,
    allow_private_network: bool,
    app_id: str,
    name: str,
) -> None:
    """Define the action NAME of APP and print its signing secret once."""
    parameters_schema = _schema(schema)
    with open_cli_backend(data_dir, database_url) as backend:
        created = backend.database.run_sync(
            lambda c: actions.create_action(
                c,
                backend.box,
                app_id,
                name,
                url=url,
                method=method,
                parameters_schema=parameters_schema,
                timeout_seconds=timeout,
                allow_private_network=allow_private_network,
            )
        )
    record = created.action
    text = "\n".join(
        [
            f"  id              {record.id}",
            f"  name            {record.name}",
            f"  call            {record.method} {record.url}",
            f"  signing_secret  {created.signing_secret}",
            "",
            "The signing secret is shown only now. Your API checks X-Countersign-Signature",
            "with it (countersign.webhooks.verify). Call the action from the widget with",
            f"  Countersign('action', '{record.name}', {{...parameters}})",
        ]
    )
    emit(
        {"id": record.id, "name": record.name, "signing_secret": created.signing_secret},
        as_json=as_json,
        text=text,
    )


@actions_group.command("list")
@database_options
@json_option
@_app_argument
def list_command(
    data_dir: Path | None, database_url: str | None, as_json: bool, app_id: str
) -> None:
    """List APP's actions (never their signing secrets)."""
    with open_cli_backend(data_dir, database_url) as backend:
        records = backend.database.run_sync(lambda c: actions.list_actions(c, app_id))
    rows = [record.as_dict() for record in records]
    text = render_table(rows, _ACTION_COLUMNS) if rows else f"{app_id} has no actions yet."
    emit({"data": rows}, as_json=as_json, text=text)


@actions_group.command("remove")
@database_options
@json_option
@_app_argument
@click.argument("name")
def remove_command(
    data_dir: Path | None, database_url: str | None, as_json: bool, app_id: str, name: str
) -> None:
    """Remove the action NAME of APP; calls to it answer 404 from now on."""
    with open_cli_backend(data_dir, database_url) as backend:
        record = backend.database.run_sync(lambda c: actions.remove_action(c, app_id, name))
    emit(record.as_dict(), as_json=as_json, text=f"Removed the action {name} of {app_id}.")


add_switch_commands(
    actions_group,
    noun="action",
    metavar="NAME",
    effects=(
        "calls answer 404 and nothing is sent; the definition is kept",
        "calls reach your API again",
    ),
    switch=actions.set_action_enabled,
)


@actions_group.command("log")
@database_options
@json_option
@click.option(
    "--limit", type=click.IntRange(1, 1000), default=50, show_default=True, help="How many calls."
)
@click.option("--action", "action_name", metavar="NAME", help="Only calls of this action.")
@_app_argument
def log_command(
    data_dir: Path | None,
    database_url: str | None,
    as_json: bool,
    limit: int,
    action_name: str | None,
    app_id: str,
) -> None:
    """Show APP's recent action calls, newest first, with their outcomes."""
    with open_cli_backend(data_dir, database_url) as backend:
        rows = backend.database.run_sync(
            lambda c: actions.recent_calls(c, app_id, limit=limit, action=action_name)
        )
    text = render_table(rows, _LOG_COLUMNS) if rows else f"No action calls logged for {app_id} yet."
    emit({"data": rows}, as_json=as_json, text=text)
