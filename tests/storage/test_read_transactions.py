"""Database.read on SQLite: a snapshot without the write lock, so a widget read never
queues behind another process's write (the server and a CLI command share the file)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from countersign.storage.database import Database, transaction_notes


@pytest.fixture
def database(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'countersign.db'}")
    db.run_sync(lambda c: c.execute(text("CREATE TABLE t (n INTEGER)")))
    db.run_sync(lambda c: c.execute(text("INSERT INTO t VALUES (1)")))
    return db


def test_a_read_does_not_wait_for_another_writer(database: Database, tmp_path: Path) -> None:
    other = sqlite3.connect(tmp_path / "countersign.db", isolation_level=None, timeout=10)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    other.execute("INSERT INTO t VALUES (2)")
    try:
        started = time.monotonic()
        seen = database.read_sync(lambda c: c.execute(text("SELECT sum(n) FROM t")).scalar())
        assert time.monotonic() - started < 1.0  # not the 10 s busy timeout
        assert seen == 1  # the committed snapshot, not the other's uncommitted row
    finally:
        other.execute("COMMIT")
        other.close()
    # A write still takes the lock up front, and sees everything committed.
    assert database.run_sync(lambda c: c.execute(text("SELECT sum(n) FROM t")).scalar()) == 3


def test_after_a_read_writes_take_the_write_lock_again(database: Database, tmp_path: Path) -> None:
    database.read_sync(lambda c: c.execute(text("SELECT 1")).scalar())
    database.run_sync(lambda c: c.execute(text("INSERT INTO t VALUES (5)")))
    other = sqlite3.connect(tmp_path / "countersign.db", isolation_level=None, timeout=0)
    try:

        def holds_lock(_connection: object) -> bool:
            # Inside a write transaction of ours, another writer is refused at once.
            try:
                other.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:
                return True
            other.execute("ROLLBACK")
            return False

        assert database.run_sync(holds_lock)
        assert not database.read_sync(holds_lock)
    finally:
        other.close()


def _driver_insert(connection: Connection, n: int) -> None:
    """A statement on the driver's own connection, as the prepared statements run."""
    connection.connection.driver_connection.execute("INSERT INTO t VALUES (?)", (n,))  # type: ignore[union-attr]


def _sum(database: Database) -> int:
    return int(database.read_sync(lambda c: c.execute(text("SELECT sum(n) FROM t")).scalar()))


@pytest.mark.parametrize("through_sqlalchemy", [False, True])
def test_a_transaction_begun_on_the_driver_commits_and_rolls_back_whole(
    database: Database, through_sqlalchemy: bool
) -> None:
    """The transaction is begun on the driver; a work may also run SQLAlchemy's own
    statements (SQLAlchemy then begins one on top) and both parts share its fate."""

    def work(connection: Connection, fail: bool) -> None:
        _driver_insert(connection, 10)
        if through_sqlalchemy:
            connection.execute(text("INSERT INTO t VALUES (100)"))
        if fail:
            raise RuntimeError("the work failed")

    database.run_sync(lambda c: work(c, fail=False))
    committed = 1 + 10 + (100 if through_sqlalchemy else 0)
    assert _sum(database) == committed
    with pytest.raises(RuntimeError):
        database.run_sync(lambda c: work(c, fail=True))
    assert _sum(database) == committed  # nothing of the failed work stays
    database.run_sync(lambda c: _driver_insert(c, 1000))  # and the connection goes on
    assert _sum(database) == committed + 1000


def test_a_failed_commit_leaves_the_connection_ready(database: Database, tmp_path: Path) -> None:
    database.run_sync(lambda c: c.execute(text("CREATE UNIQUE INDEX t_n ON t (n)")))
    database.run_sync(lambda c: c.execute(text("CREATE TABLE child (n INTEGER REFERENCES t (n))")))

    def deferred_violation(connection: Connection) -> None:
        # A deferred foreign key fails at COMMIT, not at the statement.
        _driver_insert(connection, 7)
        connection.connection.driver_connection.execute("PRAGMA defer_foreign_keys=ON")  # type: ignore[union-attr]
        connection.connection.driver_connection.execute("INSERT INTO child VALUES (424242)")  # type: ignore[union-attr]

    with pytest.raises(DBAPIError):
        database.run_sync(deferred_violation)
    assert _sum(database) == 1  # rolled back
    database.run_sync(lambda c: _driver_insert(c, 2))
    assert _sum(database) == 3


def test_commit_listeners_hear_a_committed_transaction_s_notes_only(database: Database) -> None:
    heard: list[dict[str, object]] = []
    database.commit_listeners.append(heard.append)

    def noting(connection: Connection, fail: bool) -> None:
        transaction_notes(connection)["enqueued"] = True
        if fail:
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        database.run_sync(lambda c: noting(c, fail=True))
    database.run_sync(lambda c: _driver_insert(c, 3))  # notes nothing: not heard
    assert heard == []
    database.run_sync(lambda c: noting(c, fail=False))
    assert heard == [{"enqueued": True}]
