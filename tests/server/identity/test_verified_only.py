"""SPEC 15's verified-only apps: with ``allow_anonymous`` false, identify without a
verified identity is refused (401 ``identity_required``) and nothing is stored, so no
anonymous or unverified conversation reaches the inbox."""

from __future__ import annotations

import json
from typing import Any

import pytest
from alembic import command

from countersign import sign
from countersign.storage import migrate
from countersign.storage.database import Database

from ...conftest import Invoke
from ..conftest import Harness
from ..test_identifier_paths import stored


def _refused(response: Any, code: str) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == code


def test_anonymous_visitors_are_allowed_by_default(harness: Harness) -> None:
    assert harness.identify().json()["identity"]["status"] == "anonymous"


@pytest.mark.parametrize(
    ("mode", "on_mismatch", "fields", "code"),
    [
        ("required", "reject", {}, "identity_required"),
        ("required", "reject", {"visitor_id": "vis_unknown"}, "identity_required"),
        ("required", "anonymous", {"user_id": "u1", "user_hash": "0" * 64}, "identity_required"),
        (
            "required",
            "reject",
            {"user_id": "u1", "user_hash": "0" * 64},
            "identity_verification_failed",
        ),
        ("report", "reject", {"user_id": "u1", "user_hash": "0" * 64}, "identity_required"),
        ("off", "reject", {"user_id": "u1"}, "identity_required"),
    ],
)
def test_what_is_not_verified_is_refused_and_nothing_stored(
    harness: Harness, mode: str, on_mismatch: str, fields: dict[str, str], code: str
) -> None:
    harness.set_policy(identity_mode=mode, on_mismatch=on_mismatch, allow_anonymous=False)
    before = stored(harness)
    _refused(harness.identify(**fields), code)
    assert stored(harness) == before
    [entry] = harness.log()
    assert entry["outcome"] == "refused"
    if "user_hash" not in fields:  # nothing to diagnose: the log says why it was refused
        assert entry["code"] == "identity_required"
    else:  # a failed hash keeps its diagnosis
        assert entry["code"] == "unknown"


def test_a_verified_user_gets_in(harness: Harness) -> None:
    harness.set_policy(allow_anonymous=False)
    document = harness.verified("ada")
    assert document["identity"]["status"] == "verified"


def test_the_cli_sets_it(cs: Invoke) -> None:
    app_id = json.loads(cs("apps", "create", "Acme", "--json").output)["app_id"]
    result = cs("apps", "set", app_id, "--no-allow-anonymous", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["allow_anonymous"] is False
    assert "verified users only" in cs("apps", "show", app_id).output
    result = cs("apps", "set", app_id, "--allow-anonymous", "--json")
    assert json.loads(result.output)["allow_anonymous"] is True


@pytest.mark.empty_database  # a test of the migrations: from nothing
def test_existing_apps_keep_anonymous_visitors(database_url: str) -> None:
    database = Database(database_url.replace("postgresql://", "postgresql+psycopg://"))
    config = migrate.alembic_config(database.engine)
    try:
        with database.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0011")
        with database.engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO apps (id, name, identity_mode, on_mismatch, identifier, "
                "max_metadata_chars, allowed_origins, config_version, created_at) VALUES "
                "('app_old', 'Old', 'required', 'reject', 'user_id', 1000, '[]', 1, "
                "CURRENT_TIMESTAMP)"
            )
            connection.exec_driver_sql(
                "INSERT INTO contacts (id, app_id, user_id, verified, metadata, attributes, "
                "created_at, last_seen_at) VALUES ('con_old', 'app_old', 'ada', true, '{}', "
                "'{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        database.migrate()
        with database.engine.connect() as connection:
            row = connection.exec_driver_sql(
                "SELECT allow_anonymous FROM apps WHERE id = 'app_old'"
            ).one()
            assert bool(row.allow_anonymous) is True
            # Adding the column copied no table: on SQLite a copy of apps would have
            # cascaded its drop to every row that references an app.
            assert connection.exec_driver_sql("SELECT count(*) FROM contacts").scalar() == 1
        with database.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0011")
        with database.engine.connect() as connection:
            names = database.engine.dialect.get_table_names(connection)
            assert not {"public_keys", "jwks_cache", "revoked_users"} & set(names)
            assert connection.exec_driver_sql("SELECT count(*) FROM contacts").scalar() == 1
    finally:
        database.dispose()


def test_sign_is_still_the_proof(harness: Harness) -> None:
    harness.set_policy(allow_anonymous=False)
    _refused(
        harness.identify(user_id="u2", user_hash=sign("wrong", "u2")),
        "identity_verification_failed",
    )
