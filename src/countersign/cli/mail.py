"""``countersign mail``: an app's mail log, and the key of its inbound webhook."""

from __future__ import annotations

from pathlib import Path

import click

from ..storage import mail_outbox, mail_settings
from .options import (
    Column,
    database_options,
    emit,
    json_option,
    open_cli_backend,
    render_table,
    when,
)

_COLUMNS = (
    Column("TIME", "at", when),
    Column("DIR", "direction"),
    Column("KIND", "kind"),
    Column("STATUS", "status"),
    Column("REASON", "reason"),
    Column("ADDRESS", "address"),
    Column("CONVERSATION", "conversation_id"),
)


@click.group("mail")
def mail_group() -> None:
    """Email (docs/email.md): the mail log and the inbound key."""


@mail_group.command("log")
@database_options
@json_option
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@click.argument("app_id", metavar="APP")
def log_command(
    data_dir: Path | None, database_url: str | None, as_json: bool, limit: int, app_id: str
) -> None:
    """APP's latest mail, sent and received, newest first, each with its status and why."""
    with open_cli_backend(data_dir, database_url) as backend:
        entries = backend.database.run_sync(lambda c: mail_outbox.mail_log(c, app_id, limit))
    rows = [
        entry
        | {
            "kind": entry.get("kind", "reply"),
            "address": entry.get("to") if entry["direction"] == "out" else entry.get("from"),
        }
        for entry in entries
    ]
    text = render_table(rows, _COLUMNS) if rows else f"No mail yet for {app_id}."
    emit({"data": entries}, as_json=as_json, text=text)


@mail_group.command("inbound-key")
@database_options
@json_option
@click.argument("app_id", metavar="APP")
def inbound_key_command(
    data_dir: Path | None, database_url: str | None, as_json: bool, app_id: str
) -> None:
    """Make a new key for APP's POST /v1/inbound/email (the old one stops working)."""
    with open_cli_backend(data_dir, database_url) as backend:
        key = backend.database.run_sync(lambda c: mail_settings.new_inbound_key(c, app_id))
    text = (
        f"inbound_key  {key}\n\nShown only now. Give it to your mail provider's inbound "
        "webhook as: Authorization: Bearer <inbound_key>"
    )
    emit({"app_id": app_id, "inbound_key": key}, as_json=as_json, text=text)
