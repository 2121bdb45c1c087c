"""Where attachments' bytes live: the ``attachment_chunks`` table (the default) or a
directory every node mounts (``COUNTERSIGN_ATTACHMENTS_DIR``).

The rows (``storage/attachments.py``) are the same either way; only the bytes move.
A directory holds each file under its attachment id (never the name a user gave),
fanned out by the id's last two characters, which are random: ``<dir>/Xy/att_…Xy``.

Writing is crash-safe and never shows a half file: the bytes are streamed into
``<dir>/.incoming/<random>``, fsynced, then ``os.replace``d to their final name (and
the directory fsynced), and only then is the row inserted. So a row never points at
a missing or partial file; the reverse (a file whose row was never committed, or was
deleted by a foreign-key cascade) is an orphan that :meth:`DirectoryFiles.orphans`
finds for the retention job, once it is old enough that no upload in flight can
still be about to commit its row.

Local file I/O, no network and no rule: the directory is a table of bytes by id.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final

from sqlalchemy import Connection

from .private_files import PRIVATE_FILE, make_private_dir

INCOMING: Final = ".incoming"
# An attachment id as ``new_row_id("att")`` makes it: nothing else becomes a path.
_FILE_ID: Final = re.compile(r"att_[A-Za-z0-9_-]{2,36}")
# A file younger than this is never an orphan: its row may be about to commit (an
# upload renames its file into place, then inserts its row; mail stores several files
# in one transaction with the message). Minutes, not the milliseconds that takes.
ORPHAN_GRACE_SECONDS: Final = 10 * 60.0
# A half-written file in .incoming this old belongs to an upload that died.
INCOMING_GRACE_SECONDS: Final = 60 * 60.0


class InDatabase:
    """The default: bytes in ``attachment_chunks``, deleted with their row by cascade."""

    directory: None = None

    def remove(self, attachment_ids: Iterable[str]) -> int:
        """Nothing to do: the chunks went with their rows."""
        return 0

    def __repr__(self) -> str:
        return "InDatabase()"


IN_DATABASE: Final = InDatabase()


@dataclass(frozen=True, slots=True)
class DirectoryFiles:
    """Attachments' bytes as files in ``root``, one per attachment id."""

    root: Path

    @property
    def directory(self) -> Path:
        return self.root

    def prepare(self) -> None:
        """Create the directory and its ``.incoming`` (0700) if missing: at start, so a
        path nobody may write fails there and not at the first upload."""
        make_private_dir(self.root)
        make_private_dir(self.root / INCOMING)

    def path_of(self, attachment_id: str) -> Path | None:
        """The file's path, or None for anything that is not an attachment id. The id
        is checked by its form and the path again after resolving, so no id, whatever
        a URL carried, names a file outside the directory."""
        if _FILE_ID.fullmatch(attachment_id) is None:
            return None
        root = self.root.resolve()
        path = (root / attachment_id[-2:] / attachment_id).resolve()
        return path if path.parent.parent == root else None

    def write(self, attachment_id: str, chunks: Iterable[bytes]) -> int:
        """Stream ``chunks`` to the file of ``attachment_id``; its size. The file is
        complete and on disk before it has its name, or it is not there at all."""
        final = self.path_of(attachment_id)
        if final is None:
            raise ValueError("not an attachment id")
        incoming = self.root / INCOMING
        make_private_dir(incoming)
        partial = incoming / secrets.token_hex(16)
        size = 0
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
        try:
            with os.fdopen(descriptor, "wb") as file:
                for data in chunks:
                    file.write(data)
                    size += len(data)
                file.flush()
                os.fsync(file.fileno())
            make_private_dir(final.parent)
            os.replace(partial, final)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        _fsync_dir(final.parent)
        return size

    def open(self, attachment_id: str) -> BinaryIO | None:
        """The file for reading, or None when there is none (bytes kept in the
        database from before the directory was set, or a bad id)."""
        path = self.path_of(attachment_id)
        if path is None:
            return None
        try:
            return path.open("rb")
        except (FileNotFoundError, NotADirectoryError):
            return None

    def remove(self, attachment_ids: Iterable[str]) -> int:
        """Delete the files of these ids (those that exist); how many went."""
        removed = 0
        for attachment_id in attachment_ids:
            path = self.path_of(attachment_id)
            if path is None:
                continue
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += 1
        return removed

    def fan_dirs(self) -> list[str]:
        """The fan-out directories' names (at most 64 * 64)."""
        try:
            return sorted(
                entry.name
                for entry in os.scandir(self.root)
                if entry.name != INCOMING and entry.is_dir(follow_symlinks=False)
            )
        except FileNotFoundError:
            return []

    def ids_in(self, fan: str, older_than: float) -> list[str]:
        """Ids of the files in fan-out directory ``fan`` last written before
        ``older_than`` (a ``time.time()``)."""
        try:
            entries = list(os.scandir(self.root / fan))
        except (FileNotFoundError, NotADirectoryError):
            return []
        return [
            entry.name
            for entry in entries
            if _FILE_ID.fullmatch(entry.name) and _older(entry, older_than)
        ]

    def remove_stale_incoming(self, older_than: float) -> int:
        """Delete half-written files of uploads that died (written before
        ``older_than``); how many."""
        removed = 0
        with contextlib.suppress(FileNotFoundError):
            for entry in os.scandir(self.root / INCOMING):
                if _older(entry, older_than):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(entry.path)
                        removed += 1
        return removed


def _older(entry: os.DirEntry[str], cutoff: float) -> bool:
    try:
        return entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff
    except FileNotFoundError:  # removed meanwhile, by another node's sweep
        return False


def _fsync_dir(path: Path) -> None:
    # The rename itself is durable only once its directory is on disk too.
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


AttachmentFiles = InDatabase | DirectoryFiles


def attachment_files(directory: Path | None) -> AttachmentFiles:
    """The store for ``COUNTERSIGN_ATTACHMENTS_DIR``: the database when unset."""
    return IN_DATABASE if directory is None else DirectoryFiles(directory)


#: The key of a connection's ``info`` under which its Database puts its store.
FILES_INFO: Final = "countersign_attachment_files"


def files_of(connection: Connection) -> AttachmentFiles:
    """The store of the database ``connection`` belongs to (the chunk table for a
    connection no :class:`~countersign.storage.database.Database` opened)."""
    found = connection.info.get(FILES_INFO, IN_DATABASE)
    assert isinstance(found, InDatabase | DirectoryFiles)
    return found
