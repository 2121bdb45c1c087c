"""Prepared statements store and read exactly what SQLAlchemy would, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import pytest
from sqlalchemy import Table, bindparam, exc, insert, select, text

from countersign.storage.database import Database
from countersign.storage.models import Contact, Visitor
from countersign.storage.prepared import Prepared

NOW = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
contacts = cast(Table, Contact.__table__)
visitors = cast(Table, Visitor.__table__)

INSERT_CONTACT = Prepared(
    insert(contacts).values(
        id=bindparam("b_id"),
        app_id=bindparam("b_app_id"),
        user_id=bindparam("b_user_id"),
        metadata=bindparam("b_metadata"),
        attributes=bindparam("b_attributes"),
        created_at=bindparam("b_now"),
        last_seen_at=bindparam("b_now"),
    )  # verified is left out: its default (False) applies
)
CONTACT = Prepared(
    select(contacts.c.id, contacts.c.verified, contacts.c.metadata, contacts.c.created_at).where(
        contacts.c.id == bindparam("b_id")
    )
)


def contact_params(app_id: str, contact_id: str) -> dict[str, Any]:
    return {
        "b_id": contact_id,
        "b_app_id": app_id,
        "b_user_id": "u-1",
        "b_metadata": {"plan": "pro", "n": [1, 2.5, None]},
        "b_attributes": {},
        "b_now": NOW,
    }


def stored(database: Database, contact_id: str) -> tuple[Any, ...]:
    """The row as the driver returns it, before any SQLAlchemy type processing."""
    return database.run_sync(
        lambda c: tuple(
            c.exec_driver_sql(
                "SELECT verified, metadata, created_at, last_seen_at FROM contacts"
                f" WHERE id = '{contact_id}'"
            ).one()
        )
    )


def test_stores_what_sqlalchemy_stores(database: Database, app_id: str) -> None:
    database.run_sync(lambda c: INSERT_CONTACT.rows(c, contact_params(app_id, "con_fast")))
    reference = contact_params(app_id, "con_core")
    database.run_sync(
        lambda c: c.execute(
            insert(Contact).values(
                id=reference["b_id"],
                app_id=app_id,
                user_id="u-1",
                metadata_=reference["b_metadata"],
                attributes={},
                created_at=NOW,
                last_seen_at=NOW,
            )
        )
    )
    assert stored(database, "con_fast") == stored(database, "con_core")


def test_reads_what_sqlalchemy_reads(database: Database, app_id: str) -> None:
    database.run_sync(lambda c: INSERT_CONTACT.rows(c, contact_params(app_id, "con_1")))
    row = database.run_sync(lambda c: CONTACT.one(c, {"b_id": "con_1"}))
    assert row == ("con_1", False, {"plan": "pro", "n": [1, 2.5, None]}, NOW)
    assert row[3].tzinfo is not None
    assert database.run_sync(lambda c: CONTACT.one_or_none(c, {"b_id": "con_none"})) is None
    with pytest.raises(exc.NoResultFound):
        database.run_sync(lambda c: CONTACT.one(c, {"b_id": "con_none"}))


def test_driver_errors_are_sqlalchemy_errors(database: Database, app_id: str) -> None:
    database.run_sync(lambda c: INSERT_CONTACT.rows(c, contact_params(app_id, "con_1")))
    with pytest.raises(exc.IntegrityError):
        database.run_sync(lambda c: INSERT_CONTACT.rows(c, contact_params(app_id, "con_1")))


def test_a_missing_parameter_is_an_error(database: Database, app_id: str) -> None:
    params = contact_params(app_id, "con_1")
    del params["b_user_id"]
    with pytest.raises((KeyError, exc.StatementError)):
        database.run_sync(lambda c: INSERT_CONTACT.rows(c, params))


def test_a_default_only_sqlalchemy_can_compute_is_refused(database: Database, app_id: str) -> None:
    if not database.is_sqlite:
        pytest.skip("the fast path is SQLite's; elsewhere SQLAlchemy applies its defaults")
    # visitors.created_at defaults to a callable: the statement must give it a value.
    no_created_at = Prepared(insert(visitors).values(id=bindparam("b_id"), app_id=app_id))
    with pytest.raises(TypeError, match="created_at"):
        database.run_sync(lambda c: no_created_at.rows(c, {"b_id": "vis_1"}))


def test_runs_inside_the_callers_transaction(database: Database, app_id: str) -> None:
    class Abort(Exception):
        pass

    def insert_then_abort(connection: Any) -> None:
        INSERT_CONTACT.rows(connection, contact_params(app_id, "con_1"))
        raise Abort

    with pytest.raises(Abort):
        database.run_sync(insert_then_abort)
    count = database.run_sync(lambda c: c.scalar(text("SELECT count(*) FROM contacts")))
    assert count == 0
