"""``countersign categories``: an app's notification categories, with the label a user
reads and what a user gets until they choose (``--default-in-app``, ``--default-email``).

A user's own choice in the widget (or through ``PUT /v1/preferences/{user_id}``) always
wins over these defaults."""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy import Connection

from .. import notifications
from ..storage import apps, notification_settings
from ..storage.notification_settings import Category
from .options import Column, database_options, emit, json_option, open_cli_backend, render_table

_COLUMNS = (
    Column("NAME", "name"),
    Column("LABEL", "label"),
    Column("IN_APP", "default_in_app"),
    Column("EMAIL", "default_email"),
)
_SWITCH = click.Choice(["on", "off"])


@click.group("categories")
def categories_group() -> None:
    """Notification categories of an app, and their defaults per channel."""


@categories_group.command("list")
@database_options
@json_option
@click.argument("app_id", metavar="APP")
def list_command(
    data_dir: Path | None, database_url: str | None, as_json: bool, app_id: str
) -> None:
    """List APP's declared categories ("general" always exists)."""

    def work(connection: Connection) -> list[Category]:
        apps.get_app(connection, app_id)
        return notification_settings.app_categories(connection, app_id)

    with open_cli_backend(data_dir, database_url) as backend:
        rows = [category.as_dict() for category in backend.database.run_sync(work)]
    text = (
        render_table(rows, _COLUMNS)
        if rows
        else "No categories yet: countersign categories set APP NAME"
    )
    emit({"data": rows}, as_json=as_json, text=text)


@categories_group.command("set")
@database_options
@click.option("--label", help="What a user reads in the widget's tabs and preferences.")
@click.option("--default-in-app", type=_SWITCH, help="Shown in the widget until the user chooses.")
@click.option("--default-email", type=_SWITCH, help="Emailed until the user chooses.")
@json_option
@click.argument("app_id", metavar="APP")
@click.argument("name")
def set_command(
    data_dir: Path | None,
    database_url: str | None,
    label: str | None,
    default_in_app: str | None,
    default_email: str | None,
    as_json: bool,
    app_id: str,
    name: str,
) -> None:
    """Create or change APP's category NAME; what is not given stays as it was."""
    if label is not None and not 1 <= len(label) <= 255:
        raise click.UsageError("--label must be 1-255 characters")

    def work(connection: Connection) -> Category:
        apps.get_app(connection, app_id)
        held = {c.name: c for c in notification_settings.app_categories(connection, app_id)}
        before = held.get(name) or Category(name, name.capitalize(), True, False)
        category = Category(
            name,
            before.label if label is None else label,
            before.default_in_app if default_in_app is None else default_in_app == "on",
            before.default_email if default_email is None else default_email == "on",
        )
        notifications.set_category(connection, app_id, category)
        return category

    with open_cli_backend(data_dir, database_url) as backend:
        category = backend.database.run_sync(work)
    document = category.as_dict()
    emit(document, as_json=as_json, text=render_table([document], _COLUMNS))
