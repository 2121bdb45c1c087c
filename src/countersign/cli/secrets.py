"""``countersign secrets`` and ``countersign keys``: identity secrets and server API keys.

Rotation is create, deploy, revoke: a new secret verifies alongside the old one until
the old one is revoked, so a backend can switch without a window of failed
identifies. A secret or key is printed once, by ``create``; ``list`` shows only its
bookkeeping (and an API key's public prefix, to tell keys apart).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from sqlalchemy import Connection

from ..storage import apps
from ..storage.apps import SecretRecord
from ..vocabulary.clock import utcnow
from .options import (
    Column,
    database_options,
    emit,
    json_option,
    open_cli_backend,
    render_table,
    warn,
    when,
)

_SECRET_COLUMNS = (
    Column("ID", "id"),
    Column("ACTIVE", "active"),
    Column("CREATED", "created_at", when),
    Column("LAST_USED", "last_used_at", when),
    Column("USES", "use_count"),
    Column("EXPIRES", "expires_at", when),
    Column("REVOKED", "revoked_at", when),
)
_KEY_COLUMNS = (
    Column("ID", "id"),
    Column("PREFIX", "prefix"),
    Column("CREATED", "created_at", when),
    Column("LAST_USED", "last_used_at", when),
    Column("REVOKED", "revoked_at", when),
)

_app_argument = click.argument("app_id", metavar="APP")


@click.group("secrets")
def secrets_group() -> None:
    """Identity secrets: the HMAC keys your backend signs user ids with."""


@secrets_group.command("create")
@database_options
@json_option
@_app_argument
def create_secret_command(
    data_dir: Path | None, database_url: str | None, as_json: bool, app_id: str
) -> None:
    """Add an identity secret to APP (for rotation) and print it once."""
    with open_cli_backend(data_dir, database_url) as backend:
        secret_id, secret = backend.database.run_sync(
            lambda c: apps.create_secret(c, backend.box, app_id)
        )
    text = "\n".join(
        [
            f"  secret_id  {secret_id}",
            f"  secret     {secret}",
            "",
            "This secret is shown only now and is not shown again. It verifies alongside",
            "the older ones: deploy it to your backend, then revoke the old one with",
            f"  countersign secrets revoke {app_id} OLD_SECRET_ID",
        ]
    )
    emit({"id": secret_id, "secret": secret}, as_json=as_json, text=text)


@secrets_group.command("list")
@database_options
@json_option
@_app_argument
def list_secrets_command(
    data_dir: Path | None, database_url: str | None, as_json: bool, app_id: str
) -> None:
    """List APP's identity secrets: ids, state and use, never the secrets."""
    with open_cli_backend(data_dir, database_url) as backend:
        records = backend.database.run_sync(lambda c: apps.list_secrets(c, app_id))
    now = utcnow()
    rows = [record.as_dict(now) for record in records]
    emit({"data": rows}, as_json=as_json, text=render_table(rows, _SECRET_COLUMNS))


@secrets_group.command("revoke")
@database_options
@json_option
@_app_argument
@click.argument("secret_id")
def revoke_secret_command(
    data_dir: Path | None, database_url: str | None, as_json: bool, app_id: str, secret_id: str
) -> None:
    """Revoke SECRET_ID: hashes made with it fail, sessions it verified end."""

    def revoke(connection: Connection) -> tuple[SecretRecord, apps.AppRecord, int]:
        record = apps.revoke_secret(connection, app_id, secret_id)
        now = utcnow()
        active = sum(other.is_active(now) for other in apps.list_secrets(connection, app_id))
        return record, apps.get_app(connection, app_id), active

    with open_cli_backend(data_dir, database_url) as backend:
        record, app, active = backend.database.run_sync(revoke)
    emit(
        record.as_dict(),
        as_json=as_json,
        text=f"Revoked {record.id} of {app_id}; sessions it verified are signed out.",
    )
    if active == 0 and app.identity_mode != "off":
        warn(
            f"{app_id} has no active identity secret left: no identity can be verified "
            f"until you create one with: countersign secrets create {app_id}"
        )


@click.group("keys")
def keys_group() -> None:
    """Server API keys: how your backend calls Countersign's server API."""


@keys_group.command("create")
@database_options
@json_option
@_app_argument
def create_key_command(
    data_dir: Path | None, database_url: str | None, as_json: bool, app_id: str
) -> None:
    """Create a server API key for APP and print it once."""

    def create(connection: Connection) -> tuple[str, str]:
        apps.get_app(connection, app_id)
        return apps.create_api_key(connection, app_id)

    with open_cli_backend(data_dir, database_url) as backend:
        key_id, key = backend.database.run_sync(create)
    text = "\n".join(
        [
            f"  api_key_id  {key_id}",
            f"  api_key     {key}",
            "",
            "This key is shown only now and is not shown again (only its hash is stored).",
            "Send it from your backend as: Authorization: Bearer <api_key>",
        ]
    )
    emit({"id": key_id, "api_key": key}, as_json=as_json, text=text)


@keys_group.command("list")
@database_options
@json_option
@_app_argument
def list_keys_command(
    data_dir: Path | None, database_url: str | None, as_json: bool, app_id: str
) -> None:
    """List APP's server API keys by id and prefix, never the keys."""

    def listing(connection: Connection) -> list[dict[str, Any]]:
        apps.get_app(connection, app_id)
        return apps.list_api_keys(connection, app_id)

    with open_cli_backend(data_dir, database_url) as backend:
        rows = backend.database.run_sync(listing)
    emit({"data": rows}, as_json=as_json, text=render_table(rows, _KEY_COLUMNS))


@keys_group.command("revoke")
@database_options
@json_option
@_app_argument
@click.argument("key_id")
def revoke_key_command(
    data_dir: Path | None, database_url: str | None, as_json: bool, app_id: str, key_id: str
) -> None:
    """Revoke the server API key KEY_ID; calls with it fail from now on."""

    def revoke(connection: Connection) -> dict[str, Any]:
        apps.get_app(connection, app_id)
        apps.revoke_api_key(connection, app_id, key_id)
        return next(row for row in apps.list_api_keys(connection, app_id) if row["id"] == key_id)

    with open_cli_backend(data_dir, database_url) as backend:
        row = backend.database.run_sync(revoke)
    emit(row, as_json=as_json, text=f"Revoked API key {key_id} of {app_id}.")
