"""A restart keeps everything: sessions, sealed secrets, the verification log.

Each test runs a first server, stops it, and starts a new backend and app on the same
database URL and data dir, as ``countersign serve`` does after a deploy.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
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
from countersign.storage.apps import CreatedApp
from countersign.storage.encryption import KEY_FILE, MasterKeyError
from countersign.storage.models import Contact


def new_master_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


@dataclass
class FirstRun:
    """What the first server left behind."""

    settings: Settings
    created: CreatedApp
    token: str
    contact_id: str
    visitor_id: str


def first_run(settings: Settings) -> FirstRun:
    """Start a server, create an app, identify a verified user, stop the server."""
    backend = open_backend(settings)
    try:
        created = backend.database.run_sync(lambda c: apps.create_app(c, backend.box, "Acme"))
        with TestClient(create_app(settings, backend=backend)) as client:
            response = client.post(
                "/v1/widget/identify",
                json={
                    "app_id": created.app.id,
                    "user_id": "persisted",
                    "user_hash": sign(created.secret, "persisted"),
                    "user_metadata": {"plan": "pro"},
                },
            )
            assert response.status_code == 200, response.text
            refused = client.post(
                "/v1/widget/identify",
                json={"app_id": created.app.id, "user_id": "persisted", "user_hash": "0" * 64},
            )
            assert refused.status_code == 401
        # Leaving the TestClient ran the lifespan's shutdown: the recorder flushed.
    finally:
        backend.close()
    document = response.json()
    return FirstRun(
        settings,
        created,
        document["session_token"],
        document["contact"]["id"],
        document["visitor_id"],
    )


@pytest.fixture
def second_backend() -> Iterator[list[Backend]]:
    opened: list[Backend] = []
    yield opened
    for backend in opened:
        backend.close()


def check_everything_survived(before: FirstRun, client: TestClient, backend: Backend) -> None:
    app_id = before.created.app.id
    # The old session token still works, for the same contact.
    me = client.get("/v1/widget/session", headers={"Authorization": f"Bearer {before.token}"})
    assert me.status_code == 200, me.text
    assert me.json()["contact_id"] == before.contact_id
    assert me.json()["identity"]["status"] == "verified"
    # The sealed secret still opens: a new hash made with it verifies, onto the same
    # contact, in the same browser.
    again = client.post(
        "/v1/widget/identify",
        json={
            "app_id": app_id,
            "visitor_id": before.visitor_id,
            "user_id": "persisted",
            "user_hash": sign(before.created.secret, "persisted"),
        },
    )
    assert again.status_code == 200, again.text
    assert again.json()["contact"]["id"] == before.contact_id
    assert again.json()["visitor_id"] == before.visitor_id
    assert again.json()["contact"]["metadata"] == {}  # replaced: last call wins
    # The server API key still authenticates.
    put = client.put(
        "/v1/users/persisted",
        json={"attributes": {"tier": "gold"}},
        headers={"Authorization": f"Bearer {before.created.api_key}"},
    )
    assert put.status_code == 200, put.text
    assert put.json()["id"] == before.contact_id
    # The verification log written by the first server survived.
    log: list[dict[str, Any]] = backend.database.run_sync(
        lambda c: verification_log.recent_entries(c, app_id)
    )
    outcomes = [(entry["outcome"], entry["code"]) for entry in log]
    assert ("refused", "unknown") in outcomes
    # And so did its successes, counted per minute, and the contact's last verified time.
    counted: list[dict[str, Any]] = backend.database.run_sync(
        lambda c: verification_counts.recent_counts(c, app_id)
    )
    assert sum(row["count"] for row in counted) >= 1
    assert {row["secret_id"] for row in counted} == {before.created.secret_id}
    verified_at = backend.database.run_sync(
        lambda c: c.execute(
            select(Contact.last_verified_at).where(Contact.id == before.contact_id)
        ).scalar_one()
    )
    assert verified_at is not None


def test_restart_keeps_sessions_secrets_and_log(
    database_url: str, tmp_path: Path, second_backend: list[Backend]
) -> None:
    settings = load_settings(environ={}, data_dir=tmp_path / "data", database_url=database_url)
    before = first_run(settings)

    again = load_settings(environ={}, data_dir=tmp_path / "data", database_url=database_url)
    backend = open_backend(again)
    second_backend.append(backend)
    with TestClient(create_app(again, backend=backend)) as client:
        check_everything_survived(before, client, backend)


def test_restart_of_the_default_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    """No database URL: SQLite in the data dir; the server opens the backend itself."""
    data_dir = tmp_path / "data"
    before = first_run(load_settings(environ={}, data_dir=data_dir))
    assert (data_dir / "countersign.db").is_file()
    assert (data_dir / KEY_FILE).is_file()

    settings = load_settings(environ={}, data_dir=data_dir)
    with TestClient(create_app(settings)) as client:
        backend = client.app.state.countersign.backend  # type: ignore[attr-defined]
        check_everything_survived(before, client, backend)


def test_restart_with_the_master_key_from_the_environment(
    database_url: str, tmp_path: Path, second_backend: list[Backend]
) -> None:
    environ = {"COUNTERSIGN_MASTER_KEY": new_master_key()}
    settings = load_settings(environ, data_dir=tmp_path / "a", database_url=database_url)
    before = first_run(settings)
    assert not (tmp_path / "a" / KEY_FILE).exists()  # the key came from the environment

    # Another data dir: nothing but the key and the database carries over.
    again = load_settings(environ, data_dir=tmp_path / "b", database_url=database_url)
    backend = open_backend(again)
    second_backend.append(backend)
    with TestClient(create_app(again, backend=backend)) as client:
        check_everything_survived(before, client, backend)


# ------------------------------------------------------------------ wrong master key


def test_wrong_master_key_from_the_environment_is_refused_at_start(
    database_url: str, tmp_path: Path
) -> None:
    settings = load_settings(
        {"COUNTERSIGN_MASTER_KEY": new_master_key()},
        data_dir=tmp_path / "data",
        database_url=database_url,
    )
    first_run(settings)
    wrong = load_settings(
        {"COUNTERSIGN_MASTER_KEY": new_master_key()},
        data_dir=tmp_path / "data",
        database_url=database_url,
    )
    with pytest.raises(MasterKeyError, match="master key"):
        open_backend(wrong)
    # The server itself (which opens its backend in its lifespan) does not start.
    with pytest.raises(MasterKeyError), TestClient(create_app(wrong)):
        pass


def test_wrong_master_key_setting_is_refused_at_start(database_url: str, tmp_path: Path) -> None:
    from countersign import Secret

    first_run(load_settings(environ={}, data_dir=tmp_path / "data", database_url=database_url))
    wrong = load_settings(
        environ={},
        data_dir=tmp_path / "data",
        database_url=database_url,
        master_key=Secret(new_master_key()),
    )
    with pytest.raises(MasterKeyError):
        open_backend(wrong)


def test_replaced_key_file_is_refused_at_start(database_url: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first_run(load_settings(environ={}, data_dir=data_dir, database_url=database_url))
    (data_dir / KEY_FILE).write_text(new_master_key() + "\n", encoding="ascii")
    with pytest.raises(MasterKeyError):
        open_backend(load_settings(environ={}, data_dir=data_dir, database_url=database_url))


def test_lost_key_file_is_refused_not_recreated_silently(database_url: str, tmp_path: Path) -> None:
    """A data dir whose master.key was deleted: a new key would seal nothing old."""
    data_dir = tmp_path / "data"
    first_run(load_settings(environ={}, data_dir=data_dir, database_url=database_url))
    (data_dir / KEY_FILE).unlink()
    with pytest.raises(MasterKeyError):
        open_backend(load_settings(environ={}, data_dir=data_dir, database_url=database_url))


def test_a_fresh_database_starts_with_any_key(database_url: str, tmp_path: Path) -> None:
    # No secret is sealed yet, so there is nothing to check the key against.
    settings = load_settings(
        {"COUNTERSIGN_MASTER_KEY": new_master_key()},
        data_dir=tmp_path / "data",
        database_url=database_url,
    )
    open_backend(settings).close()
