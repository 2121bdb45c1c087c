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
from .prepared import driver_error
from .private_files import create_private_file, make_private_dir

T = TypeVar("T")

# A bound on one shared commit, so the first call of a large group does not wait for
# hundreds of others (each holds the event loop for tens of microseconds).
MAX_GROUP: Final = 64

#: A transaction's notes (``transaction_notes``), kept in its connection's info.
_NOTES: Final = "countersign.notes"

_Pending = tuple[Callable[[Connection], Any], "asyncio.Future[Any]"]
CommitListener = Callable[[dict[str, Any]], None]


def transaction_notes(connection: Connection) -> dict[str, Any]:
    """What a unit of work notes for after its commit: a dict that lives as long as the
    transaction, handed to the database's commit listeners once it has committed (and
    dropped if it rolls back). A work that enqueues something notes it, and a listener
    on this node wakes the worker that sends it."""
    notes: dict[str, Any] = connection.info.setdefault(_NOTES, {})
    return notes


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
        # SQLAlchemy begins a transaction when a statement of its own finds none: inside
        # Database's transactions (begun on the driver, below) there always is one, so
        # this only begins those of code using the engine directly (migrations, a test).
        # It takes the write lock up front so two processes (a server and a CLI
        # command) queue on busy_timeout instead of failing on a lock upgrade.
        driver = connection.connection.driver_connection
        if not driver.in_transaction:  # type: ignore[union-attr]
            driver.execute("BEGIN IMMEDIATE")  # type: ignore[union-attr]

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
        #: Called with a transaction's notes (``transaction_notes``) after it commits,
        #: when it noted anything; on the thread that ran it.
        self.commit_listeners: list[CommitListener] = []

    def migrate(self) -> None:
        migrate.upgrade(self.engine)

    @contextlib.contextmanager
    def _transaction(self, *, reading: bool = False) -> Iterator[Connection]:
        """A connection in a transaction, committed on exit (rolled back on an error),
        timed from begin to commit for the metrics; then the commit listeners.

        On SQLite the transaction is begun and ended on the driver's connection, which
        the prepared statements use too: SQLAlchemy's transaction object (begin, commit
        and their events) cost ~25 µs a transaction, as much as a session read's
        statements. A work that runs a statement of SQLAlchemy's own makes SQLAlchemy
        begin one on top (the ``begin`` hook then issues nothing), and it is ended
        through SQLAlchemy. ``reading``: a deferred BEGIN, a snapshot without the write
        lock; else BEGIN IMMEDIATE (see ``_begin_immediate``)."""
        started = time.perf_counter()
        try:
            if not self.is_sqlite:
                with self.engine.begin() as connection:
                    notes = connection.info[_NOTES] = {}
                    yield connection
            else:
                with self._exclusive:
                    held = self._connection()
                    notes = held.info[_NOTES] = {}
                    _on_driver(held, "BEGIN" if reading else "BEGIN IMMEDIATE")
                    try:
                        yield held
                    except BaseException:
                        _end(held, commit=False)
                        raise
                    _end(held, commit=True)
        finally:
            TRANSACTION_SECONDS.observe(time.perf_counter() - started)
        if notes:
            for listener in self.commit_listeners:
                listener(notes)

    def _connection(self) -> Connection:
        """SQLite's one connection, opened when first needed (or after a close)."""
        if self._held is None or self._held.closed:
            self._held = self.engine.connect()
        return self._held

    def read_sync(self, work: Callable[[Connection], T]) -> T:
        """Run ``work``, which only reads, in a transaction of its own: on SQLite a
        deferred one (a consistent snapshot without the write lock, so a read never
        queues behind another process's write); elsewhere as :meth:`run_sync`."""
        with self._transaction(reading=self.is_sqlite) as connection:
            return work(connection)

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


def _on_driver(connection: Connection, sql: str) -> None:
    """``sql`` on SQLite's own connection, its errors wrapped as SQLAlchemy's are."""
    dialect = connection.dialect
    try:
        connection.connection.driver_connection.execute(sql)  # type: ignore[union-attr]
    except dialect.loaded_dbapi.Error as error:
        raise driver_error(dialect, sql, (), error) from error


def _end(connection: Connection, *, commit: bool) -> None:
    """End the transaction ``_transaction`` began on the driver: through SQLAlchemy if
    it began one on top (so it forgets it), else on the driver. If that fails, the
    connection is still left outside any transaction, ready for the next."""
    try:
        if connection.in_transaction():
            if commit:
                connection.commit()
            else:
                connection.rollback()
        else:
            _on_driver(connection, "COMMIT" if commit else "ROLLBACK")
    except BaseException:
        if connection.in_transaction():
            connection.rollback()
        if _open(connection):
            _on_driver(connection, "ROLLBACK")
        raise


def _open(connection: Connection) -> bool:
    """Whether SQLite's connection is still inside a transaction."""
    return bool(connection.connection.driver_connection.in_transaction)  # type: ignore[union-attr]
