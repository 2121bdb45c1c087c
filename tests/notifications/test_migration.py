"""Migration 0010 keeps the notifications already sent (in "general", no actions, read
state kept), creates the inbox's tables, and goes back down to 0009 and up again."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text

from countersign.storage import migrate
from countersign.storage.database import Database

INBOX_TABLES = {"notification_categories", "notification_preferences", "notification_sends"}


def _alembic(database: Database, revision: str, *, down: bool = False) -> None:
    config = migrate.alembic_config(database.engine)
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def _tables(database: Database) -> set[str]:
    with database.engine.connect() as connection:
        return set(database.engine.dialect.get_table_names(connection))


@pytest.mark.empty_database  # a test of the migrations: from nothing
def test_existing_notifications_survive_and_the_migration_goes_both_ways(
    database_url: str,
) -> None:
    database = Database(database_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        _alembic(database, "0009")
        sent = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
        with database.engine.begin() as connection:
            # The app (its table has grown since: 0012) and the notification are written
            # as 0009 knew them.
            connection.execute(
                text(
                    "INSERT INTO apps (id, name, identity_mode, on_mismatch, identifier,"
                    " max_metadata_chars, allowed_origins, config_version, created_at)"
                    " VALUES ('app_m', 'M', 'required', 'reject', 'user_id', 1000, '[]', 1, :t)"
                ),
                {"t": sent},
            )
            # Only the columns 0009 had (the model has grown since: 0016).
            connection.execute(
                text(
                    "INSERT INTO contacts (id, app_id, user_id, verified, metadata, attributes,"
                    " created_at, last_seen_at, stream_seq) VALUES ('con_m', 'app_m', 'ada',"
                    " true, '{}', '{}', :t, :t, 0)"
                ),
                {"t": sent},
            )
            connection.execute(
                text(
                    "INSERT INTO notifications (id, app_id, contact_id, title, data, created_at,"
                    " read_at) VALUES ('ntf_m', 'app_m', 'con_m', 'Old', '{}', :t, :t)"
                ),
                {"t": sent},
            )
        database.migrate()
        assert _tables(database) >= INBOX_TABLES
        with database.engine.connect() as connection:
            row = connection.execute(
                text("SELECT category, actions, seen_at, archived_at, read_at FROM notifications")
            ).one()
        assert row.category == "general"
        assert row.actions in ([], "[]")
        assert row.seen_at is None
        assert row.archived_at is None
        assert row.read_at is not None
        _alembic(database, "0009", down=True)
        assert not _tables(database) & INBOX_TABLES
        with database.engine.connect() as connection:
            assert connection.execute(text("SELECT title FROM notifications")).scalar_one() == "Old"
        database.migrate()
        head = ScriptDirectory.from_config(migrate.alembic_config(database.engine))
        assert migrate.current_revision(database.engine) == head.get_current_head()
    finally:
        database.dispose()
