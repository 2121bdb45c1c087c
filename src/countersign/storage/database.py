"""The database handle: an engine, its SQLite pragmas, and how work reaches it.

Every unit of work is a plain function of a SQLAlchemy ``Connection`` run inside one
transaction. On SQLite it runs inline on the event loop: each call takes microseconds,
one connection serves the whole process without locking, and there is no thread hop
on the hot path. On PostgreSQL, where a call waits on the network, it runs in a worker
thread from the engine's pool.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.pool import StaticPool

from . import migrate

T = TypeVar("T")


def _sqlite_engine(url: str) -> Engine:
    path = url.removeprefix("sqlite:///")
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        # One connection for the process: every call runs on the event loop's thread.
        poolclass=StaticPool,
        connect_args={"check_same_thread": False, "isolation_level": None, "timeout": 10},
    )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # WAL: readers never block the writer. synchronous=NORMAL in WAL mode loses
        # nothing on a process crash (kill -9); only an OS crash or power loss can
        # drop the last commits. FULL would add an fsync to every commit.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection: Connection) -> None:
        # Take the write lock up front so two processes (a server and a CLI command)
        # queue on busy_timeout instead of failing on a lock upgrade.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class Database:
    """Runs units of work against the configured database, migrated to the newest schema."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self.engine = _sqlite_engine(url)
        else:
            self.engine = create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)

    def migrate(self) -> None:
        migrate.upgrade(self.engine)

    def run_sync(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in a transaction, committed when it returns."""
        with self.engine.begin() as connection:
            return work(connection)

    async def run(self, work: Callable[[Connection], T]) -> T:
        """:meth:`run_sync` from async code: inline on SQLite, in a thread on PostgreSQL."""
        if self.is_sqlite:
            return self.run_sync(work)
        return await anyio.to_thread.run_sync(self.run_sync, work)

    def dispose(self) -> None:
        self.engine.dispose()
