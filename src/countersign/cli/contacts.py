"""``countersign contacts export|erase``: answer a user's privacy request."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .. import privacy
from ..vocabulary.clock import utcnow
from .options import database_options, emit, json_option, open_cli_backend


@click.group("contacts")
def contacts_group() -> None:
    """A user's data: export everything, or erase it (privacy requests)."""


@contacts_group.command("export")
@database_options
@click.argument("app_id", metavar="APP")
@click.argument("user_id")
def export_command(
    data_dir: Path | None, database_url: str | None, app_id: str, user_id: str
) -> None:
    """Print everything stored about USER_ID of APP as one JSON document."""
    with open_cli_backend(data_dir, database_url) as backend:
        document = backend.database.run_sync(
            lambda c: privacy.export_user(c, app_id, user_id, utcnow())
        )
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


@contacts_group.command("erase")
@database_options
@json_option
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.argument("app_id", metavar="APP")
@click.argument("user_id")
def erase_command(
    data_dir: Path | None,
    database_url: str | None,
    as_json: bool,
    yes: bool,
    app_id: str,
    user_id: str,
) -> None:
    """Erase USER_ID of APP: their contact, conversations, notifications, events,
    browsers and log rows. Only an audit row that an erasure happened is kept."""
    if not yes:
        click.confirm(
            f"Erase everything about {user_id!r} in {app_id}? This cannot be undone", abort=True
        )
    with open_cli_backend(data_dir, database_url) as backend:
        erased = backend.database.run_sync(
            lambda c: privacy.erase_user(c, app_id, user_id, utcnow(), actor="command line")
        )
        backend.database.files.remove(erased.files)  # once the erasure committed
    removed = ", ".join(f"{table} {count}" for table, count in erased.removed.items() if count)
    document = {"erased": True, "contact_id": erased.contact_id, "removed": erased.removed}
    emit(document, as_json=as_json, text=f"Erased {user_id} ({erased.contact_id}): {removed}.")
