"""What the server and the CLI both open from settings: the migrated database and the
box that seals identity secrets."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from .settings import Settings
from .storage.attachment_files import DirectoryFiles
from .storage.database import Database
from .storage.encryption import SecretBox, load_or_create_key_file, parse_master_key
from .storage.models import IdentitySecret


@dataclass(frozen=True)
class Backend:
    settings: Settings
    database: Database
    box: SecretBox

    def close(self) -> None:
        self.database.dispose()


def open_backend(settings: Settings, *, migrate: bool = True) -> Backend:
    """The database at ``settings`` (schema migrated to the newest) and the secret box.

    Every command calls this first, so each works on a fresh data dir or an empty
    database, and alongside a running server.
    """
    if settings.master_key is not None:
        master_key = parse_master_key(settings.master_key.reveal().decode("utf-8", "replace"))
    else:
        master_key = load_or_create_key_file(settings.data_dir)
    database = Database(settings.sqlalchemy_url, attachments_dir=settings.attachments_dir)
    box = SecretBox(master_key)
    try:
        if isinstance(database.files, DirectoryFiles):
            database.files.prepare()  # a directory nobody may write fails here, at start
        if migrate:
            database.migrate()
            database.run_sync(lambda connection: check_master_key(connection, box))
    except BaseException:
        database.dispose()
        raise
    return Backend(settings, database, box)


def check_master_key(connection: Connection, box: SecretBox) -> None:
    """Open one stored secret, so a wrong master key stops us at start with a clear
    message instead of failing every identify afterwards."""
    row = connection.execute(
        select(IdentitySecret.id, IdentitySecret.ciphertext).limit(1)
    ).one_or_none()
    if row is not None:
        box.open(row.ciphertext, row.id)
