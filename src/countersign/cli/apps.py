"""``countersign apps``: create widget installations and set their identity policy.

``apps create`` is the one moment the first identity secret and server API key are
printed; afterwards only their ids are. ``identity_mode=off`` accepts any claimed
identity, so every command that sets or shows it says so on stderr.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from sqlalchemy import Connection

from ..attachments.types import DEFAULT_TYPES, parse_type_list
from ..storage import apps, attachments, mail_settings
from ..storage.apps import AppRecord, CreatedApp
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

_APP_COLUMNS = (
    Column("APP_ID", "app_id"),
    Column("NAME", "name"),
    Column("IDENTITY_MODE", "identity_mode"),
    Column("ON_MISMATCH", "on_mismatch"),
    Column("IDENTIFIER", "identifier"),
    Column("CREATED", "created_at", when),
)

MAX_ATTACHMENT_LIMIT = 1_000_000_000  # 1 GB: the database holds the bytes


def _warn_if_off(app: AppRecord) -> None:
    if app.identity_mode == "off":
        warn(
            f"identity verification is OFF for {app.id} ({app.name}): anyone can claim "
            "to be any user. Use it only in development; turn it on with: "
            f"countersign apps set {app.id} --identity-mode required"
        )


def _emit_app(
    record: AppRecord,
    limits: tuple[int, list[str] | None],
    as_json: bool,
    *,
    email_delay: int | None = None,
) -> None:
    """The app's policy and its upload limits (SPEC 11), which live beside it, and its
    email delay (SPEC 12) when one was just set."""
    limit, allowed = limits
    types = list(allowed or DEFAULT_TYPES)
    document = {**record.as_dict(), "max_attachment_bytes": limit, "attachment_types": types}
    text = (
        f"{_describe(record)}\nmax_attachment_bytes  {limit}\nattachment_types    {','.join(types)}"
    )
    if email_delay is not None:
        document["email_delay"] = email_delay
        text += f"\nemail_delay         {email_delay} s"
    emit(document, as_json=as_json, text=text)
    _warn_if_off(record)


def _describe(app: AppRecord) -> str:
    origins = ", ".join(app.allowed_origins) or "any (no allow-list)"
    lines = [
        f"app_id              {app.id}",
        f"name                {app.name}",
        f"identity_mode       {app.identity_mode}",
        f"on_mismatch         {app.on_mismatch}",
        f"identifier          {app.identifier}",
        f"max_metadata_chars  {app.max_metadata_chars}",
        f"allowed_origins     {origins}",
        f"allow_anonymous     {'yes' if app.allow_anonymous else 'no: verified users only'}",
        f"created             {when(app.created_at.isoformat())}",
    ]
    return "\n".join(lines)


def _created_text(created: CreatedApp) -> str:
    return "\n".join(
        [
            f"Created app {created.app.name!r}.",
            "",
            f"  app_id      {created.app.id}",
            f"  secret_id   {created.secret_id}",
            f"  secret      {created.secret}",
            f"  api_key_id  {created.api_key_id}",
            f"  api_key     {created.api_key}",
            "",
            "The secret and the API key are shown only now and are not shown again:",
            "keep them in your backend's secret store, never in the page.",
            "",
            "Next step: compute the hash your backend sends with a user id:",
            f"  countersign sign --secret {created.secret} USER_ID",
        ]
    )


@click.group("apps")
def apps_group() -> None:
    """Create apps (widget installations) and set their identity policy."""


@apps_group.command("create")
@database_options
@json_option
@click.argument("name")
def create_command(
    data_dir: Path | None, database_url: str | None, as_json: bool, name: str
) -> None:
    """Create an app; print its id, first identity secret and server API key once."""
    with open_cli_backend(data_dir, database_url) as backend:
        created = backend.database.run_sync(lambda c: apps.create_app(c, backend.box, name))
    document = {
        "app_id": created.app.id,
        "secret": created.secret,
        "secret_id": created.secret_id,
        "api_key": created.api_key,
        "api_key_id": created.api_key_id,
    }
    emit(document, as_json=as_json, text=_created_text(created))


@apps_group.command("list")
@database_options
@json_option
def list_command(data_dir: Path | None, database_url: str | None, as_json: bool) -> None:
    """List every app with its identity policy."""
    with open_cli_backend(data_dir, database_url) as backend:
        records = backend.database.run_sync(apps.list_apps)
    rows = [record.as_dict() for record in records]
    text = render_table(rows, _APP_COLUMNS) if rows else "No apps yet: countersign apps create NAME"
    emit({"data": rows}, as_json=as_json, text=text)
    for record in records:
        _warn_if_off(record)


@apps_group.command("show")
@database_options
@json_option
@click.argument("app_id", metavar="APP")
def show_command(
    data_dir: Path | None, database_url: str | None, as_json: bool, app_id: str
) -> None:
    """Show one app's identity policy and allowed origins."""
    with open_cli_backend(data_dir, database_url) as backend:
        record, limits = backend.database.run_sync(
            lambda c: (apps.get_app(c, app_id), attachments.limits(c, app_id))
        )
    _emit_app(record, limits, as_json)


@apps_group.command("set")
@database_options
@click.option(
    "--identity-mode",
    type=click.Choice(apps.IDENTITY_MODES),
    help="required: a claimed identity needs a valid hash. report: check and log, "
    "accept as unverified. off: accept anything (development only).",
)
@click.option(
    "--on-mismatch",
    type=click.Choice(apps.ON_MISMATCH),
    help="In required mode, a bad hash is refused (reject, 401) or the visitor "
    "continues anonymously (anonymous).",
)
@click.option(
    "--identifier",
    type=click.Choice(apps.IDENTIFIER_KINDS),
    help="What the backend signs: the user id or the email.",
)
@click.option(
    "--max-metadata-chars",
    type=click.IntRange(0, apps.MAX_METADATA_CHARS_LIMIT),
    metavar="N",
    help="Total characters of unverified metadata kept per identify.",
)
@click.option(
    "--allowed-origin",
    "origins",
    multiple=True,
    metavar="ORIGIN",
    help="An origin (https://example.com) allowed to call the widget API. Repeatable; "
    "the given origins replace the current list.",
)
@click.option("--clear-origins", is_flag=True, help="Allow every origin again (empty allow-list).")
@click.option(
    "--max-attachment-bytes",
    type=click.IntRange(1, MAX_ATTACHMENT_LIMIT),
    metavar="N",
    help="The largest upload accepted, in bytes (default 10000000); larger: 413.",
)
@click.option(
    "--attachment-types",
    metavar="LIST",
    help=f"Comma-separated upload types allowed, of {','.join(DEFAULT_TYPES)} (the "
    "default: all of them); any other: 415.",
)
@click.option(
    "--allow-anonymous/--no-allow-anonymous",
    default=None,
    help="Whether visitors without a verified identity may use the widget. With "
    "--no-allow-anonymous, identify without one is refused (401 identity_required) and "
    "the widget shows nothing.",
)
@click.option(
    "--email-delay",
    type=click.IntRange(0, mail_settings.MAX_EMAIL_DELAY),
    metavar="SECONDS",
    help="How long the team's message waits unread (and no widget open) before it is "
    "emailed to the contact's verified address (default 120).",
)
@json_option
@click.argument("app_id", metavar="APP")
def set_command(
    data_dir: Path | None,
    database_url: str | None,
    identity_mode: str | None,
    on_mismatch: str | None,
    identifier: str | None,
    max_metadata_chars: int | None,
    origins: tuple[str, ...],
    clear_origins: bool,
    allow_anonymous: bool | None,
    max_attachment_bytes: int | None,
    attachment_types: str | None,
    email_delay: int | None,
    as_json: bool,
    app_id: str,
) -> None:
    """Change APP's identity policy and upload limits; print the app as it now is."""
    if origins and clear_origins:
        raise click.UsageError("give --allowed-origin or --clear-origins, not both")
    try:
        types = None if attachment_types is None else parse_type_list(attachment_types)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--attachment-types") from None
    changes: dict[str, Any] = {
        "identity_mode": identity_mode,
        "on_mismatch": on_mismatch,
        "identifier": identifier,
        "max_metadata_chars": max_metadata_chars,
        "allowed_origins": [] if clear_origins else (list(origins) or None),
        "allow_anonymous": allow_anonymous,
    }
    uploads = max_attachment_bytes is not None or types is not None
    if all(value is None for value in changes.values()) and not uploads and email_delay is None:
        raise click.UsageError(
            "nothing to change: give --identity-mode, --on-mismatch, --identifier, "
            "--max-metadata-chars, --allowed-origin, --clear-origins, --[no-]allow-anonymous, "
            "--max-attachment-bytes, --attachment-types or --email-delay"
        )

    def change(connection: Connection) -> tuple[AppRecord, tuple[int, list[str] | None], int]:
        attachments.set_limits(connection, app_id, max_bytes=max_attachment_bytes, types=types)
        if email_delay is not None:
            mail_settings.set_email_delay(connection, app_id, email_delay)
        policy = {name: value for name, value in changes.items() if value is not None}
        record = (
            apps.update_policy(connection, app_id, **policy)
            if policy
            else apps.get_app(connection, app_id)
        )
        return (
            record,
            attachments.limits(connection, app_id),
            mail_settings.email_delay_of(connection, app_id),
        )

    with open_cli_backend(data_dir, database_url) as backend:
        record, limits, delay = backend.database.run_sync(change)
    # The email delay is shown when it was set (apps show and list keep their shape).
    _emit_app(record, limits, as_json, email_delay=delay if email_delay is not None else None)
