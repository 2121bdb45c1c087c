"""A real server app per test, on SQLite and on PostgreSQL, with one app created."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from countersign import sign
from countersign.context import Backend, open_backend
from countersign.server.app import create_app
from countersign.settings import Settings, load_settings
from countersign.storage import apps, verification_counts, verification_log
from countersign.storage.models import Contact


@dataclass
class Harness:
    """A running server (TestClient, lifespan started) and the app it was given."""

    client: TestClient
    backend: Backend
    settings: Settings
    app_id: str
    secret: str
    secret_id: str
    api_key: str

    def identify(self, **fields: Any) -> Any:
        headers = fields.pop("headers", None)
        return self.client.post(
            "/v1/widget/identify", json={"app_id": self.app_id, **fields}, headers=headers
        )

    def verified(self, user_id: str, **fields: Any) -> Any:
        """A verified identify of ``user_id``; asserts it succeeded."""
        response = self.identify(user_id=user_id, user_hash=sign(self.secret, user_id), **fields)
        assert response.status_code == 200, response.text
        return response.json()

    def set_policy(self, **changes: Any) -> None:
        self.backend.database.run_sync(lambda c: apps.update_policy(c, self.app_id, **changes))
        self.client.app.state.countersign.directory.invalidate(self.app_id)  # type: ignore[attr-defined]

    def log(self, **filters: Any) -> list[dict[str, Any]]:
        """The verification log once the recorder has flushed everything pending."""
        recorder = self.client.app.state.countersign.recorder  # type: ignore[attr-defined]
        self.client.portal.call(recorder.flush)  # type: ignore[union-attr]
        return self.backend.database.run_sync(
            lambda c: verification_log.recent_entries(c, self.app_id, **filters)
        )

    def successes(self, **filters: Any) -> list[dict[str, Any]]:
        """The verified identifies counted per minute and secret (SPEC 9: successes
        are counts, not log rows), once the recorder has flushed."""
        recorder = self.client.app.state.countersign.recorder  # type: ignore[attr-defined]
        self.client.portal.call(recorder.flush)  # type: ignore[union-attr]
        return self.backend.database.run_sync(
            lambda c: verification_counts.recent_counts(c, self.app_id, **filters)
        )

    def verified_count(self) -> int:
        """How many identifies were counted verified, all minutes together."""
        return sum(row["count"] for row in self.successes(limit=1000))

    def last_verified_at(self, contact_id: str) -> Any:
        """The contact's ``last_verified_at`` once the recorder has flushed."""
        recorder = self.client.app.state.countersign.recorder  # type: ignore[attr-defined]
        self.client.portal.call(recorder.flush)  # type: ignore[union-attr]
        return self.backend.database.run_sync(
            lambda c: c.execute(
                select(Contact.last_verified_at).where(Contact.id == contact_id)
            ).scalar_one()
        )

    def session_headers(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def make_harness(database_url: str, tmp_path: Path) -> Iterator[Callable[..., Harness]]:
    """Build a harness (optionally with settings overrides); all are closed at the end."""
    opened: list[tuple[TestClient, Backend]] = []

    def build(**overrides: Any) -> Harness:
        settings = load_settings(
            environ={}, data_dir=tmp_path / "data", database_url=database_url, **overrides
        )
        backend = open_backend(settings)
        created = backend.database.run_sync(lambda c: apps.create_app(c, backend.box, "Acme"))
        client = TestClient(create_app(settings, backend=backend))
        client.__enter__()
        opened.append((client, backend))
        return Harness(
            client,
            backend,
            settings,
            created.app.id,
            created.secret,
            created.secret_id,
            created.api_key,
        )

    yield build
    for client, backend in opened:
        client.__exit__(None, None, None)
        backend.close()


@pytest.fixture
def harness(make_harness: Callable[..., Harness]) -> Harness:
    return make_harness()


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)
