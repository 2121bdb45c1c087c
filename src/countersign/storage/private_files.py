"""The data dir and the files in it are the operator's alone: 0700 and 0600.

The data dir holds every contact, message and verification-log row (with client
addresses), operators' password hashes, sealed secrets and the master key. Created
with the process's umask (usually 022), the directory would be 0755 and SQLite's files
0644: readable by every local user. So the directory is made 0700 and each file is
created 0600 before anything writes to it. SQLite creates its ``-wal`` and ``-shm``
files with the database file's own mode, so creating the database file 0600 covers
them too.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Final

PRIVATE_DIR: Final = 0o700
PRIVATE_FILE: Final = 0o600


def make_private_dir(path: Path) -> None:
    """``path`` (and missing parents) created 0700; an existing directory is left as it
    is (see :func:`wider_than_private`): changing an operator's own choice silently
    could break what else they keep there."""
    if path.is_dir():
        return
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    os.chmod(path, PRIVATE_DIR)  # mkdir's mode passes through the umask


def create_private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists (then it is left alone)."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        return
    os.close(descriptor)


def write_private_text(path: Path, text: str) -> None:
    """Replace ``path`` atomically with ``text``, the new file 0600 from the start."""
    partial = path.with_name(path.name + ".tmp")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(partial, path)


def wider_than_private(data_dir: Path) -> list[str]:
    """What in ``data_dir`` (the directory itself and the files directly in it) other
    users may read or enter, as ``"PATH is 0755"`` lines; empty when all is private."""
    found = []
    candidates = [data_dir, *sorted(data_dir.iterdir())] if data_dir.is_dir() else []
    for path in candidates:
        try:
            mode = stat.S_IMODE(path.lstat().st_mode)
        except FileNotFoundError:  # removed meanwhile (a -shm file at shutdown)
            continue
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            found.append(f"{path} is {mode:04o}")
    return found
