"""Database.read on SQLite: a snapshot without the write lock, so a widget read never
queues behind another process's write (the server and a CLI command share the file)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from countersign.storage.database import Database


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
