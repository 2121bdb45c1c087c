"""Bring a database to the newest schema (what ``serve`` and every command do first)."""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every migration up to ``revision``; safe to run on an up-to-date database.

    On SQLite the migration takes the write lock for its whole run (BEGIN IMMEDIATE),
    so a ``countersign`` command and a starting server never migrate at once.
    """
    config = alembic_config(engine)
    with engine.begin() as connection:
        if revision == "head" and _at(connection, newest()):
            return  # every command starts here: a database at head costs one query
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


@functools.cache
def newest() -> str | None:
    """The head revision, read from the migration scripts once per process (alembic
    reads and runs all of them each time it is asked: ~40 ms)."""
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def _at(connection: Connection, revision: str | None) -> bool:
    return MigrationContext.configure(connection).get_current_revision() == revision


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
