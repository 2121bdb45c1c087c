"""The team's rules under concurrency, on PostgreSQL (where two transactions really run
at once; SQLite takes its write lock at BEGIN): two owners demoting each other leave
one owner, and one link spent twice at once sets one password."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Connection

from countersign.context import Backend, open_backend
from countersign.operators import team
from countersign.settings import load_settings
from countersign.storage import operators
from countersign.storage.database import Database
from countersign.vocabulary.clock import utcnow


@pytest.fixture
def pg(postgres_url: str, tmp_path: Any) -> Iterator[Backend]:
    opened = open_backend(load_settings(environ={}, data_dir=tmp_path, database_url=postgres_url))
    yield opened
    opened.close()


def _owner(database: Database, email: str) -> operators.OperatorRecord:
    record: operators.OperatorRecord = database.run_sync(
        lambda c: operators.create_operator(
            c, email=email, password_hash="$argon2id$x", role="owner", now=utcnow()
        )
    )
    return record


def _in_thread(work: Any) -> tuple[threading.Thread, list[BaseException | None]]:
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            work()
            outcome.append(None)
        except BaseException as error:
            outcome.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def test_two_owners_demoting_each_other_leave_one_owner(pg: Backend) -> None:
    first = _owner(pg.database, "one@example.com")
    second = _owner(pg.database, "two@example.com")
    now = utcnow()
    with pg.database.engine.begin() as held:
        team.change_role(held, actor=first, operator_id=first.id, role="agent", now=now)
        # The other demotion starts while the first is not yet committed: it waits on
        # the owners' row locks, then sees one owner left, and is refused.
        thread, outcome = _in_thread(
            lambda: pg.database.run_sync(
                lambda c: team.change_role(
                    c, actor=second, operator_id=second.id, role="agent", now=now
                )
            )
        )
        thread.join(0.5)
        assert thread.is_alive(), "the second demotion did not wait for the first"
    thread.join(10)
    assert isinstance(outcome[0], team.LastOwner)
    owners = pg.database.run_sync(operators.active_owner_ids)
    assert owners == [second.id]


def test_one_link_spent_twice_at_once_sets_one_password(pg: Backend) -> None:
    invited = pg.database.run_sync(
        lambda c: team.invite_operator(
            c,
            actor=None,
            email="new@example.com",
            role="agent",
            name="New",
            ttl=timedelta(hours=1),
            now=utcnow(),
        )
    )
    barrier = threading.Barrier(2)

    def spend(password_hash: str) -> None:
        def work(connection: Connection) -> None:
            barrier.wait(5)
            team.accept_link(connection, invited.token, password_hash, now=utcnow())

        pg.database.run_sync(work)

    runs = [_in_thread(lambda h=h: spend(h)) for h in ("$argon2id$a", "$argon2id$b")]
    for thread, _ in runs:
        thread.join(10)
    outcomes = [outcome[0] for _, outcome in runs]
    assert outcomes.count(None) == 1
    refused = next(error for error in outcomes if error is not None)
    assert isinstance(refused, team.LinkUnusable)
    assert refused.state == "used"
    stored = pg.database.run_sync(lambda c: operators.password_hash_of(c, invited.operator.id))
    assert stored in ("$argon2id$a", "$argon2id$b")
