"""Migration 0003 creates exactly the operator tables the models describe, and goes
back down cleanly."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from countersign.storage import migrate
from countersign.storage.database import Database
from countersign.storage.models import Base

OPERATOR_TABLES = {
    "operators",
    "operator_sessions",
    "operator_audit",
    "operator_invitations",
    "conversation_reads",
}


def _tables_of(difference: object) -> set[str]:
    names = set()
    for item in difference if isinstance(difference, list) else [difference]:
        for part in item if isinstance(item, tuple) else (item,):
            table = getattr(part, "table", None)
            name = getattr(table, "name", None) or getattr(part, "name", None)
            if isinstance(name, str):
                names.add(name)
    return names


@pytest.mark.empty_database  # a test of the migrations: from nothing
def test_the_schema_matches_the_models(database_url: str) -> None:
    database = Database(database_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        database.migrate()
        with database.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
        mine = [d for d in differences if _tables_of(d) & OPERATOR_TABLES]
        assert mine == []
        config = migrate.alembic_config(database.engine)
        with database.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0002")
        with database.engine.connect() as connection:
            names = set(database.engine.dialect.get_table_names(connection))
        assert not names & OPERATOR_TABLES
        database.migrate()
        assert migrate.current_revision(database.engine) is not None
    finally:
        database.dispose()


@pytest.mark.empty_database  # a test of the migrations: from nothing
def test_0011_keeps_every_operator_active_and_goes_back_down(database_url: str) -> None:
    database = Database(database_url.replace("postgresql://", "postgresql+psycopg://"))
    config = migrate.alembic_config(database.engine)
    try:
        with database.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0010")
        with database.engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO operators (id, email, name, role, password_hash, created_at) "
                "VALUES ('op_old', 'old@example.com', 'Old', 'owner', 'x', CURRENT_TIMESTAMP)"
            )
        database.migrate()
        with database.engine.connect() as connection:
            row = connection.exec_driver_sql(
                "SELECT deactivated_at FROM operators WHERE id = 'op_old'"
            ).one()
            assert row.deactivated_at is None
            assert "operator_invitations" in database.engine.dialect.get_table_names(connection)
        with database.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0010")
        with database.engine.connect() as connection:
            assert "operator_invitations" not in database.engine.dialect.get_table_names(connection)
            columns = {
                c["name"] for c in database.engine.dialect.get_columns(connection, "operators")
            }
            assert "deactivated_at" not in columns
    finally:
        database.dispose()
