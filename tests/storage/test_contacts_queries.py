"""identify's lookups use the indexes the schema made for them (SQLite's planner)."""

from __future__ import annotations

from pathlib import Path

import pytest

from countersign.storage import contacts
from countersign.storage.database import Database


@pytest.mark.parametrize("key", ["user_id", "email"])
def test_a_verified_contact_is_found_through_its_unique_index(tmp_path: Path, key: str) -> None:
    # SQLite uses a partial index only when the query repeats the index's WHERE terms
    # as written; "verified = 1" would scan every contact of the app instead.
    database = Database(f"sqlite:///{tmp_path / 'countersign.db'}")
    database.migrate()
    lookup = contacts.verified_lookup("app_1", key, "someone")
    sql = str(lookup.compile(dialect=database.engine.dialect))
    with database.engine.connect() as connection:
        plan = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, ("app_1", "someone")).all()
    database.dispose()
    assert any(f"uq_contacts_verified_{key}" in str(step) for step in plan), plan
