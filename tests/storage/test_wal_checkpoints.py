"""While the server runs, SQLite's WAL is checkpointed by a thread, not inside commits."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from sqlalchemy import Connection

from countersign.storage.database import Database

ROWS = 3000


def _pragma(database: Database, name: str) -> int:
    return int(database.run_sync(lambda c: c.exec_driver_sql(f"PRAGMA {name}").scalar_one()))


def _rows_in_main_file(path: Path) -> int:
    """What the database file itself holds: an immutable connection reads no WAL."""
    reader = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        return int(reader.execute("SELECT count(*) FROM t").fetchone()[0])
    except sqlite3.OperationalError:  # not even the table has reached the file yet
        return 0
    finally:
        reader.close()


def _insert(connection: Connection, start: int) -> None:
    for n in range(start, start + 100):
        connection.exec_driver_sql("INSERT INTO t VALUES (?, hex(randomblob(600)))", (n,))


def _write_rows(database: Database) -> None:
    database.run_sync(lambda c: c.exec_driver_sql("CREATE TABLE t (n INTEGER, pad TEXT)"))
    for start in range(0, ROWS, 100):  # many commits, well over 1,000 WAL pages
        database.run_sync(lambda c, start=start: _insert(c, start))


def test_a_thread_checkpoints_what_commits_no_longer_do(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    database = Database(f"sqlite:///{path}")
    try:
        with database.checkpoints_in_background():
            assert _pragma(database, "wal_autocheckpoint") == 0
            _write_rows(database)
            deadline = time.monotonic() + 10
            while _rows_in_main_file(path) != ROWS:
                assert time.monotonic() < deadline, "the WAL was never checkpointed"
                time.sleep(0.05)
        assert _pragma(database, "wal_autocheckpoint") == 1000  # SQLite's own again
    finally:
        database.dispose()


def test_without_the_thread_nothing_reaches_the_file_until_sqlite_checkpoints(
    tmp_path: Path,
) -> None:
    """The check above can fail: with checkpoints off and no thread, the rows stay in
    the WAL."""
    path = tmp_path / "db.sqlite"
    database = Database(f"sqlite:///{path}")
    try:
        database.run_sync(lambda c: c.exec_driver_sql("PRAGMA wal_autocheckpoint=0"))
        _write_rows(database)
        time.sleep(0.6)
        assert _rows_in_main_file(path) == 0
    finally:
        database.dispose()


def test_nothing_to_do_off_sqlite_files() -> None:
    database = Database("sqlite:///:memory:")
    try:
        with database.checkpoints_in_background():
            assert _pragma(database, "wal_autocheckpoint") == 1000
    finally:
        database.dispose()
