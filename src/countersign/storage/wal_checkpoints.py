"""SQLite's WAL checkpoints, on a thread of their own instead of the event loop.

By default SQLite checkpoints inside the COMMIT that takes the WAL past 1,000 pages:
that commit copies every page back into the database file and fsyncs it, on the
server's one connection, so the event loop stops for the length of an fsync (several
milliseconds on a virtual disk) every few thousand identifies. Those stalls were the
p99 of ``benchmarks/identify.py``. While the server runs, its connection leaves
checkpoints alone (``wal_autocheckpoint=0``) and this thread runs a PASSIVE checkpoint
on a connection of its own a few times a second. PASSIVE never waits for the writer
or a reader, and sqlite3 lets go of the GIL while it copies and syncs, so the loop
goes on writing meanwhile; the next commit after a complete checkpoint starts the WAL
over from its beginning, so it stays small.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from typing import Final

log = logging.getLogger("countersign.storage")

INTERVAL_SECONDS: Final = 0.25
SQLITE_DEFAULT_AUTOCHECKPOINT: Final = 1000  # pages


def _checkpoint_until(path: str, stop: threading.Event) -> None:
    connection = sqlite3.connect(path, timeout=0, check_same_thread=False)
    try:
        while not stop.wait(INTERVAL_SECONDS):
            try:
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.Error:  # busy, or a transient I/O error: the next turn retries
                log.warning("WAL checkpoint failed; retrying", exc_info=True)
        connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    finally:
        connection.close()


@contextlib.contextmanager
def checkpoints_in_background(
    path: str, set_autocheckpoint: Callable[[int], None]
) -> Iterator[None]:
    """While inside: ``path``'s WAL is checkpointed by a thread, not by the commits of
    the connection whose ``PRAGMA wal_autocheckpoint`` ``set_autocheckpoint`` sets."""
    stop = threading.Event()
    thread = threading.Thread(
        target=_checkpoint_until, args=(path, stop), name="countersign-wal", daemon=True
    )
    set_autocheckpoint(0)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        set_autocheckpoint(SQLITE_DEFAULT_AUTOCHECKPOINT)
