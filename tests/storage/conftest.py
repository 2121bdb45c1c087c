"""What the storage tests share: a migrated database on each backend, and an app in it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from countersign.settings import load_settings
from countersign.storage import apps
from countersign.storage.database import Database
from countersign.storage.encryption import SecretBox


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    database = Database(load_settings({}, database_url=database_url).sqlalchemy_url)
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture
def app_id(database: Database) -> str:
    box = SecretBox(os.urandom(32))
    return database.run_sync(lambda c: apps.create_app(c, box, "Acme")).app.id
