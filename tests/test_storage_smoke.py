"""The schema migrates and an app round-trips on both backends."""

from __future__ import annotations

import os

import pytest

from countersign import sign
from countersign.storage import apps
from countersign.storage.database import Database
from countersign.storage.encryption import SecretBox


@pytest.mark.empty_database  # a test of the migrations: from nothing
def test_migrate_create_app_and_verify(database_url: str) -> None:
    database = Database(database_url.replace("postgresql://", "postgresql+psycopg://"))
    database.migrate()
    database.migrate()  # idempotent
    box = SecretBox(os.urandom(32))
    created = database.run_sync(lambda c: apps.create_app(c, box, "Acme"))
    ring = database.run_sync(lambda c: apps.load_keyring(c, box, created.app.id))
    assert ring.verify("u1", sign(created.secret, "u1"))
    database.dispose()
