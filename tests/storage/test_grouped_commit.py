"""Database.run_grouped: the calls of one event-loop turn share a commit, never an outcome."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, event, insert, select

from countersign.storage.database import MAX_GROUP, Database
from countersign.storage.models import Visitor

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def transactions(database: Database) -> list[int]:
    """One entry per transaction the database begins from now on."""
    begun: list[int] = []
    event.listen(database.engine, "begin", lambda _connection: begun.append(1))
    return begun


def add_visitor(app_id: str, visitor_id: str, *, fail: bool = False) -> Callable[[Connection], str]:
    def work(connection: Connection) -> str:
        connection.execute(insert(Visitor).values(id=visitor_id, app_id=app_id, created_at=NOW))
        if fail:
            raise RuntimeError(f"{visitor_id} fails after its insert")
        return visitor_id

    return work


def committed_visitors(database: Database) -> set[str]:
    """Read through a connection of its own: only committed rows are visible there."""
    engine = create_engine(database.url)
    try:
        with engine.connect() as connection:
            return set(connection.scalars(select(Visitor.id)))
    finally:
        engine.dispose()


def run(*calls: Any) -> list[Any]:
    async def main() -> list[Any]:
        return await asyncio.gather(*calls, return_exceptions=True)

    return asyncio.run(main())


def test_calls_of_one_turn_share_one_commit(
    database: Database, app_id: str, transactions: list[int]
) -> None:
    ids = [f"vis_{n}" for n in range(5)]
    results = run(*(database.run_grouped(add_visitor(app_id, i)) for i in ids))
    assert results == ids
    assert committed_visitors(database) == set(ids)
    assert len(transactions) == (1 if database.is_sqlite else len(ids))


def test_a_failing_call_fails_alone(database: Database, app_id: str) -> None:
    results = run(
        database.run_grouped(add_visitor(app_id, "vis_a")),
        database.run_grouped(add_visitor(app_id, "vis_b", fail=True)),
        database.run_grouped(add_visitor(app_id, "vis_c")),
    )
    assert results[0] == "vis_a"
    assert isinstance(results[1], RuntimeError)
    assert results[2] == "vis_c"
    # The failing call's insert is rolled back; the others' are committed.
    assert committed_visitors(database) == {"vis_a", "vis_c"}


def test_a_failing_commit_fails_only_the_call_that_causes_it(
    database: Database, app_id: str
) -> None:
    results = run(
        database.run_grouped(add_visitor(app_id, "vis_same")),
        database.run_grouped(add_visitor(app_id, "vis_same")),  # a duplicate primary key
        database.run_grouped(add_visitor(app_id, "vis_other")),
    )
    # Grouped (SQLite) the first insert wins; on PostgreSQL the calls run concurrently
    # in threads and either may. Either way exactly one of the two fails, alone.
    first, second, other = results
    assert sorted([isinstance(first, Exception), isinstance(second, Exception)]) == [False, True]
    assert "vis_same" in (first, second)
    assert other == "vis_other"
    assert committed_visitors(database) == {"vis_same", "vis_other"}


def test_large_groups_are_split(database: Database, app_id: str, transactions: list[int]) -> None:
    ids = [f"vis_{n}" for n in range(MAX_GROUP + 3)]
    assert run(*(database.run_grouped(add_visitor(app_id, i)) for i in ids)) == ids
    if database.is_sqlite:
        assert len(transactions) == 2
    assert committed_visitors(database) == set(ids)


def test_a_call_cancelled_before_its_turn_writes_nothing(database: Database, app_id: str) -> None:
    if not database.is_sqlite:
        pytest.skip("grouping is SQLite's; elsewhere run_grouped is run, in a thread")

    async def main() -> None:
        cancelled = asyncio.ensure_future(database.run_grouped(add_visitor(app_id, "vis_gone")))
        kept = asyncio.ensure_future(database.run_grouped(add_visitor(app_id, "vis_kept")))
        await asyncio.sleep(0)  # both are now waiting for the group to run
        cancelled.cancel()
        assert await kept == "vis_kept"
        with pytest.raises(asyncio.CancelledError):
            await cancelled

    asyncio.run(main())
    assert committed_visitors(database) == {"vis_kept"}
