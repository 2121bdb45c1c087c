"""``countersign db``: the schema revision, and migrating to the newest on demand.

Every command (and ``serve``) migrates on start, so ``db upgrade`` is for a deploy
step that should migrate once before the nodes start. Neither command needs the
master key, so neither creates one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from alembic.script import ScriptDirectory

from ..settings import load_settings
from ..storage import migrate
from ..storage.database import Database
from .options import cli_errors, database_options, emit, json_option


@contextmanager
def _open_database(data_dir: Path | None, database_url: str | None) -> Iterator[Database]:
    with cli_errors():
        settings = load_settings(data_dir=data_dir, database_url=database_url)
        database = Database(settings.sqlalchemy_url)
        try:
            yield database
        finally:
            database.dispose()


def _head(database: Database) -> str | None:
    return ScriptDirectory.from_config(migrate.alembic_config(database.engine)).get_current_head()


@click.group("db")
def db_group() -> None:
    """The database schema: which revision it is at, and migrating it."""


@db_group.command("upgrade")
@database_options
@json_option
def upgrade_command(data_dir: Path | None, database_url: str | None, as_json: bool) -> None:
    """Migrate the database to the newest schema and print its revision."""
    with _open_database(data_dir, database_url) as database:
        before = migrate.current_revision(database.engine)
        database.migrate()
        after = migrate.current_revision(database.engine)
    if before == after:
        text = f"database already at revision {after}"
    else:
        text = f"database upgraded from {before or '(empty)'} to revision {after}"
    emit({"previous": before, "revision": after}, as_json=as_json, text=text)


@db_group.command("current")
@database_options
@json_option
def current_command(data_dir: Path | None, database_url: str | None, as_json: bool) -> None:
    """Print the database's schema revision and the newest one this version knows."""
    with _open_database(data_dir, database_url) as database:
        revision = migrate.current_revision(database.engine)
        head = _head(database)
    if revision == head:
        text = f"{revision} (newest)"
    else:
        text = f"{revision or '(empty)'} (newest is {head}: run countersign db upgrade)"
    emit({"revision": revision, "head": head}, as_json=as_json, text=text)
