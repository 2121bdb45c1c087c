"""Migration 0018 adds the success counts and contacts' ``last_verified_at``, keeps
every verified row already logged readable, leaves the contact search's triggers in
place on SQLite, and goes down to 0016 and up again keeping the log."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import text

from countersign.storage import apps, migrate, verification_counts, verification_log
from countersign.storage.database import Database
from countersign.storage.encryption import SecretBox

AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _alembic(database: Database, revision: str, *, down: bool = False) -> None:
    config = migrate.alembic_config(database.engine)
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def _schema(database: Database) -> tuple[set[str], set[str], set[str]]:
    """Tables, the contacts' columns, and (SQLite) the triggers on contacts."""
    with database.engine.connect() as connection:
        inspector = sa.inspect(connection)
        columns = {column["name"] for column in inspector.get_columns("contacts")}
        triggers: set[str] = set()
        if database.engine.dialect.name == "sqlite":
            triggers = set(
                connection.execute(
                    text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
                ).scalars()
            )
        return set(inspector.get_table_names()), columns, triggers


@pytest.mark.empty_database  # a test of the migrations: from nothing
def test_old_verified_rows_survive_and_the_migration_goes_both_ways(database_url: str) -> None:
    database = Database(database_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        _alembic(database, "0016")
        _, _, triggers_before = _schema(database)
        box = SecretBox(os.urandom(32))
        app_id = database.run_sync(lambda c: apps.create_app(c, box, "Acme")).app.id
        with database.engine.begin() as connection:
            # The contact as 0016 knew it: no last_verified_at.
            connection.execute(
                text(
                    "INSERT INTO contacts (id, app_id, user_id, verified, metadata, attributes,"
                    " created_at, last_seen_at, stream_seq, via_email, mail_opt_out)"
                    " VALUES ('con_m', :app, 'ada', true, '{}', '{}', :t, :t, 0, false, false)"
                ),
                {"app": app_id, "t": AT},
            )
        logged = [
            {"app_id": app_id, "at": AT, "outcome": "verified", "method": "hash", "code": "ok",
             "identifier": "ada", "secret_id": "sec_old"},
            {"app_id": app_id, "at": AT, "outcome": "refused", "method": "hash",
             "code": "secret_whitespace", "hint": "strip it", "identifier": "bob"},
        ]  # fmt: skip
        database.run_sync(lambda c: verification_log.insert_entries(c, logged))

        _alembic(database, "0018")
        tables, columns, triggers = _schema(database)
        assert "verification_counts" in tables
        assert "last_verified_at" in columns
        assert triggers == triggers_before  # no batch rebuild of contacts
        before = database.run_sync(lambda c: verification_log.recent_entries(c, app_id))
        assert {(row["outcome"], row["identifier"]) for row in before} == {
            ("verified", "ada"),
            ("refused", "bob"),
        }
        counts = database.run_sync(lambda c: verification_log.outcome_counts(c, app_id, AT))
        assert counts["verified"] == 1  # the old row, read as before
        database.run_sync(lambda c: verification_counts.add_successes(c, {(app_id, "s", AT): 2}))
        database.run_sync(lambda c: verification_counts.mark_verified(c, {"con_m": AT}))

        _alembic(database, "0016", down=True)
        tables, columns, triggers = _schema(database)
        assert "verification_counts" not in tables
        assert "last_verified_at" not in columns
        assert triggers == triggers_before
        after = database.run_sync(lambda c: verification_log.recent_entries(c, app_id))
        assert after == before

        _alembic(database, "head")
        assert database.run_sync(lambda c: verification_log.recent_entries(c, app_id)) == before
        assert database.run_sync(lambda c: verification_counts.recent_counts(c, app_id)) == []
    finally:
        database.dispose()
