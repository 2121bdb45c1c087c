"""Migration 0003 creates exactly the operator tables the models describe, and goes
back down cleanly."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from countersign.storage import migrate
from countersign.storage.database import Database
from countersign.storage.models import Base

OPERATOR_TABLES = {"operators", "operator_sessions", "operator_audit", "conversation_reads"}


def _tables_of(difference: object) -> set[str]:
    names = set()
    for item in difference if isinstance(difference, list) else [difference]:
        for part in item if isinstance(item, tuple) else (item,):
            table = getattr(part, "table", None)
            name = getattr(table, "name", None) or getattr(part, "name", None)
            if isinstance(name, str):
                names.add(name)
    return names


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
