"""A returning verified user with unchanged metadata costs identify no contact write;
any change, however small, is still written (on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from countersign.storage import contacts, identities, verified_claims
from countersign.storage.database import Database
from countersign.storage.models import Contact

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def identify(
    database: Database, app_id: str, metadata: dict[str, Any], at: datetime
) -> identities.Identified:
    return database.run_sync(
        lambda c: identities.identify(
            c,
            app_id=app_id,
            visitor_id=None,
            claim=contacts.Claim("verified", user_id="returning"),
            metadata=metadata,
            secret_id=None,
            now=at,
        )
    )


def stored(database: Database) -> tuple[Any, datetime]:
    row = database.run_sync(
        lambda c: c.execute(
            select(Contact.metadata_, Contact.last_seen_at).where(Contact.user_id == "returning")
        ).one()
    )
    return row[0], row[1]


def test_unchanged_metadata_within_a_minute_is_not_written(database: Database, app_id: str) -> None:
    first = identify(database, app_id, {"plan": "pro"}, T0)
    again = identify(database, app_id, {"plan": "pro"}, T0 + timedelta(seconds=30))
    assert again.contact == first.contact
    assert stored(database) == ({"plan": "pro"}, T0)  # last_seen_at not rewritten


def test_last_seen_moves_on_after_a_minute(database: Database, app_id: str) -> None:
    identify(database, app_id, {}, T0)
    later = T0 + verified_claims.LAST_SEEN_RESOLUTION
    identify(database, app_id, {}, later)
    assert stored(database) == ({}, later)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ({"n": 1}, {"n": True}),  # equal as Python values, not as JSON
        ({"n": 1}, {"n": 1.0}),
        ({"a": 1}, {"a": 1, "b": 2}),
        ({"a": {"x": 1}}, {"a": {"x": 2}}),
        ({"a": 1}, {}),
    ],
)
def test_any_change_of_metadata_is_written(
    database: Database, app_id: str, before: dict[str, Any], after: dict[str, Any]
) -> None:
    identify(database, app_id, before, T0)
    result = identify(database, app_id, after, T0 + timedelta(seconds=1))
    assert result.contact.metadata == after
    metadata, last_seen = stored(database)
    assert metadata == after
    assert [type(v) for v in metadata.values()] == [type(v) for v in after.values()]
    assert last_seen == T0 + timedelta(seconds=1)


def test_an_unchanged_return_answers_the_stored_attributes(database: Database, app_id: str) -> None:
    database.run_sync(
        lambda c: contacts.upsert_verified_user(
            c, app_id, "returning", email=None, name="Ada", attributes={"tier": 3}, now=T0
        )
    )
    first = identify(database, app_id, {}, T0 + timedelta(seconds=1))
    again = identify(database, app_id, {}, T0 + timedelta(seconds=2))
    assert again.contact == first.contact
    assert again.contact.attributes == {"tier": 3}
    assert again.contact.name == "Ada"


def test_the_same_metadata_in_another_key_order_is_rewritten_not_lost(
    database: Database, app_id: str
) -> None:
    identify(database, app_id, {"a": 1, "b": 2}, T0)
    result = identify(database, app_id, {"b": 2, "a": 1}, T0 + timedelta(seconds=1))
    assert result.contact.metadata == {"a": 1, "b": 2}
    assert stored(database) == ({"b": 2, "a": 1}, T0 + timedelta(seconds=1))
