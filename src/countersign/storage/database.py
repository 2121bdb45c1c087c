"""The database handle: an engine, its SQLite pragmas, and how work reaches it.

Every unit of work is a plain function of a SQLAlchemy ``Connection`` run inside one
transaction. On SQLite it runs inline on the event loop: each call takes microseconds,
one connection serves the whole process without locking, and there is no thread hop
on the hot path. On PostgreSQL, where a call waits on the network, it runs in a worker
thread from the engine's pool.

Every engine hides its statements' parameters from its errors and logs: they carry
user ids, metadata and token digests, and an error message ends up in log files and
tracebacks that are kept and shared far more widely than the database itself.

On SQLite, short writes made in the same turn of the event loop can share one commit
(:meth:`Database.run_grouped`): a commit writes every page the transaction touched to
the WAL, and the pages of table tails and of indexes on growing keys are the same for
every identify, so a shared commit writes them once.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final, TypeVar

import anyio.to_thread
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.pool import StaticPool

from ..metrics import TRANSACTION_SECONDS
from . import migrate
from .attachment_files import FILES_INFO, AttachmentFiles, attachment_files
from .private_files import create_private_file, make_private_dir

T = TypeVar("T")

# A bound on one shared commit, so the first call of a large group does not wait for
# hundreds of others (each holds the event loop for tens of microseconds).
MAX_GROUP: Final = 64

#: Set in a SQLite connection's info while :meth:`Database.read` runs on it.
_READING: Final = "countersign_reading"

_Pending = tuple[Callable[[Connection], Any], "asyncio.Future[Any]"]


def _sqlite_engine(url: str) -> Engine:
    path = url.removeprefix("sqlite:///")
    if path and path != ":memory:":
        make_private_dir(Path(path).parent)
        create_private_file(Path(path))  # SQLite gives its -wal and -shm files this mode
    engine = create_engine(
        url,
        # One connection for the process: every call runs on the event loop's thread.
        poolclass=StaticPool,
        hide_parameters=True,
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
        # queue on busy_timeout instead of failing on a lock upgrade. On the driver's
        # own connection: through exec_driver_sql this one statement cost every
        # transaction ~8 µs of SQLAlchemy's execution machinery. A read (Database.read)
        # begins a plain deferred transaction: a snapshot, no write lock.
        reading = connection.info.get(_READING, False)
        driver = connection.connection.driver_connection
        driver.execute("BEGIN" if reading else "BEGIN IMMEDIATE")  # type: ignore[union-attr]

    return engine


class Database:
    """Runs units of work against the configured database, migrated to the newest schema."""

    def __init__(self, url: str, *, attachments_dir: Path | None = None) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self.engine = _sqlite_engine(url)
        else:
            self.engine = create_engine(
                url, pool_size=10, max_overflow=10, pool_pre_ping=True, hide_parameters=True
            )
        # Where attachments' bytes go (COUNTERSIGN_ATTACHMENTS_DIR, or the chunk table).
        # Each connection carries it too, so a unit of work that stores a file
        # (storage.attachments.insert_attachment) writes where this database keeps them.
        self.files: AttachmentFiles = attachment_files(attachments_dir)
        files = self.files

        @event.listens_for(self.engine, "connect")
        def _files(_dbapi_connection: Any, record: Any) -> None:
            record.info[FILES_INFO] = files

        self._group: list[_Pending] = []
        # SQLite's one connection serves the process. The event loop is its usual user,
        # but a thread may run work too (tests, a CLI helper in-process); two threads on
        # one connection would interleave their transactions. On PostgreSQL the pool
        # gives each thread a connection of its own, so the lock is not needed there.
        self._exclusive: contextlib.AbstractContextManager[Any] = (
            threading.RLock() if self.is_sqlite else contextlib.nullcontext()
        )
        # On SQLite, the one SQLAlchemy connection over it, held for the process: a
        # check-out and check-in of the static pool per transaction cost ~11 µs, more
        # than a short transaction's own statements.
        self._held: Connection | None = None

    def migrate(self) -> None:
        migrate.upgrade(self.engine)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """A connection in a transaction, committed on exit (rolled back on an error),
        timed from begin to commit for the metrics."""
        started = time.perf_counter()
        try:
            if not self.is_sqlite:
                with self.engine.begin() as connection:
                    yield connection
                return
            with self._exclusive:
                if self._held is None or self._held.closed:
                    self._held = self.engine.connect()
                with self._held.begin():
                    yield self._held
        finally:
            TRANSACTION_SECONDS.observe(time.perf_counter() - started)

    def read_sync(self, work: Callable[[Connection], T]) -> T:
        """Run ``work``, which only reads, in a transaction of its own: on SQLite a
        deferred one (a consistent snapshot without the write lock, so a read never
        queues behind another process's write); elsewhere as :meth:`run_sync`."""
        if not self.is_sqlite:
            return self.run_sync(work)
        with self._exclusive:
            if self._held is None or self._held.closed:
                self._held = self.engine.connect()
            self._held.info[_READING] = True
            try:
                with self._transaction() as connection:
                    return work(connection)
            finally:
                self._held.info[_READING] = False

    async def read(self, work: Callable[[Connection], T]) -> T:
        """:meth:`read_sync` from async code: inline on SQLite, in a thread elsewhere."""
        if self.is_sqlite:
            return self.read_sync(work)
        return await anyio.to_thread.run_sync(self.run_sync, work)

    def run_sync(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in a transaction, committed when it returns."""
        with self._transaction() as connection:
            return work(connection)

    async def run(self, work: Callable[[Connection], T]) -> T:
        """:meth:`run_sync` from async code: inline on SQLite, in a thread on PostgreSQL."""
        if self.is_sqlite:
            return self.run_sync(work)
        return await anyio.to_thread.run_sync(self.run_sync, work)

    async def run_grouped(self, work: Callable[[Connection], T]) -> T:
        """:meth:`run` for a short write that may share its commit with others.

        On SQLite the works handed over in the same event-loop turn run one after the
        other in one transaction, and each call returns only once that transaction has
        committed: no caller is answered before its own data is committed, with the
        durability every commit has here (see the pragmas above). If any of them
        raises (or the commit fails), the transaction is rolled back and each work runs
        again alone in a transaction of its own, so every call gets the outcome it would
        have had alone and a failure never reaches another call's data. ``work`` must
        therefore act only on the database: it may run twice. Elsewhere this is
        :meth:`run`.
        """
        if not self.is_sqlite:
            return await self.run(work)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._group.append((work, future))
        if len(self._group) == 1:
            # After the callbacks already queued: the other requests read in this turn.
            loop.call_soon(self._commit_group)
        return await future

    def _commit_group(self) -> None:
        group, self._group = self._group[:MAX_GROUP], self._group[MAX_GROUP:]
        if self._group:
            asyncio.get_running_loop().call_soon(self._commit_group)
        group = [(work, future) for work, future in group if not future.cancelled()]
        if len(group) > 1 and self._run_together(group):
            return
        for work, future in group:
            try:
                result = self.run_sync(work)
            except Exception as error:
                if not future.cancelled():
                    future.set_exception(error)
            else:
                if not future.cancelled():
                    future.set_result(result)

    def _run_together(self, group: list[_Pending]) -> bool:
        """Every work of ``group`` in one transaction; False, rolled back, if any failed."""
        try:
            with self._transaction() as connection:
                results = [work(connection) for work, _ in group]
        except Exception:
            return False
        for (_, future), result in zip(group, results, strict=True):
            if not future.cancelled():
                future.set_result(result)
        return True

    def dispose(self) -> None:
        with self._exclusive:
            if self._held is not None:
                self._held.close()
                self._held = None
        self.engine.dispose()
