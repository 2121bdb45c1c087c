"""Migration 0005 creates exactly the action tables the models describe, and goes back
down to 0004 (through any later migration) and up again cleanly."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from countersign.storage import migrate
from countersign.storage.database import Database
from countersign.storage.models import Base

from ..server.dashboard.test_migration import _tables_of

ACTION_TABLES = {"actions", "action_calls"}


@pytest.mark.empty_database  # a test of the migrations: from nothing
def test_the_action_tables_match_the_models(database_url: str) -> None:
    database = Database(database_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        database.migrate()
        with database.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
        assert [d for d in differences if _tables_of(d) & ACTION_TABLES] == []
        config = migrate.alembic_config(database.engine)
        with database.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0004")
        with database.engine.connect() as connection:
            names = set(database.engine.dialect.get_table_names(connection))
        assert not names & ACTION_TABLES
        assert "webhook_endpoints" in names
        database.migrate()
        head = ScriptDirectory.from_config(config).get_current_head()
        assert migrate.current_revision(database.engine) == head
        with database.engine.connect() as connection:
            assert set(database.engine.dialect.get_table_names(connection)) >= ACTION_TABLES
    finally:
        database.dispose()
