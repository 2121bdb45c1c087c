"""Migration 0017 lets the mail outbox hold digests (no conversation) and their items,
keeps every continuity email, and goes back down to 0016 and up again: the digests go
on the way down (0016 has no place for them), the partial indexes survive SQLite's
rebuild of the table both ways."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import exc, inspect, text

from countersign.storage import contact_search, migrate
from countersign.storage.database import Database
from countersign.storage.models import Base

AT = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
_MAIL = (
    "INSERT INTO mail_outbox (id, app_id, kind, batch_key, gathering, conversation_id,"
    " contact_id, from_seq, up_to_seq, status, attempts, next_attempt_at, created_at)"
    " VALUES (:id, 'app_d', :kind, :key, false, :conversation, 'con_d', 1, 1, 'sent', 1,"
    " :t, :t)"
)


def _alembic(database: Database, revision: str, *, down: bool = False) -> None:
    config = migrate.alembic_config(database.engine)
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def _matches_models(database: Database) -> None:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": contact_search.include_name}
        )
        assert compare_metadata(context, Base.metadata) == []


def _partial_indexes_kept(database: Database) -> None:
    """A batch rebuild on SQLite must not drop the indexes' WHERE: a unique index on
    every batch_key (gathering or not) would refuse a contact's second email."""
    if database.engine.dialect.name != "sqlite":
        return
    with database.engine.connect() as connection:
        sql = dict(
            connection.execute(
                text("SELECT name, sql FROM sqlite_master WHERE tbl_name = 'mail_outbox'")
            ).all()
        )
    assert "WHERE gathering" in sql["uq_mail_outbox_gathering"]
    assert "WHERE status = 'pending'" in sql["ix_mail_outbox_open_due"]


def _mail_ids(database: Database) -> list[str]:
    with database.engine.connect() as connection:
        return list(connection.execute(text("SELECT id FROM mail_outbox ORDER BY id")).scalars())


@pytest.mark.empty_database  # a test of the migrations: from nothing
def test_digests_come_and_go_with_0017_and_continuity_mail_stays(database_url: str) -> None:
    database = Database(database_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        _alembic(database, "0016")
        with database.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO apps (id, name, identity_mode, on_mismatch, identifier,"
                    " max_metadata_chars, allowed_origins, config_version, created_at)"
                    " VALUES ('app_d', 'D', 'required', 'reject', 'user_id', 1000, '[]', 1, :t)"
                ),
                {"t": AT},
            )
            connection.execute(
                text(
                    "INSERT INTO contacts (id, app_id, user_id, verified, metadata, attributes,"
                    " created_at, last_seen_at, stream_seq) VALUES ('con_d', 'app_d', 'ada',"
                    " true, '{}', '{}', :t, :t, 0)"
                ),
                {"t": AT},
            )
            connection.execute(
                text(
                    "INSERT INTO conversations (id, app_id, contact_id, last_seq, created_at,"
                    " updated_at) VALUES ('cnv_d', 'app_d', 'con_d', 1, :t, :t)"
                ),
                {"t": AT},
            )
            connection.execute(
                text(_MAIL),
                {"id": "mail_c", "kind": "contact", "key": "c", "conversation": "cnv_d", "t": AT},
            )
        database.migrate()
        _matches_models(database)
        _partial_indexes_kept(database)
        with database.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO notifications (id, app_id, contact_id, title, data, created_at)"
                    " VALUES ('ntf_d', 'app_d', 'con_d', 'Invoice', '{}', :t)"
                ),
                {"t": AT},
            )
            connection.execute(
                text(_MAIL),
                {"id": "mail_d", "kind": "digest", "key": "d", "conversation": None, "t": AT},
            )
            connection.execute(text("INSERT INTO mail_digest_items VALUES ('mail_d', 'ntf_d')"))
        assert _mail_ids(database) == ["mail_c", "mail_d"]

        _alembic(database, "0016", down=True)
        assert "mail_digest_items" not in inspect(database.engine).get_table_names()
        assert _mail_ids(database) == ["mail_c"]  # the continuity email is kept
        with pytest.raises(exc.IntegrityError), database.engine.begin() as connection:
            connection.execute(
                text(_MAIL),
                {"id": "mail_x", "kind": "digest", "key": "x", "conversation": None, "t": AT},
            )
        indexes = {i["name"] for i in inspect(database.engine).get_indexes("mail_outbox")}
        assert {"uq_mail_outbox_gathering", "ix_mail_outbox_open_due"} <= indexes
        _partial_indexes_kept(database)

        database.migrate()
        _matches_models(database)
        _partial_indexes_kept(database)
        assert _mail_ids(database) == ["mail_c"]
    finally:
        database.dispose()
