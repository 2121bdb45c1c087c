"""``countersign actions add|list|remove|log`` on a fresh data dir, on both backends."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from countersign.settings import load_settings
from countersign.storage import actions
from countersign.storage.actions import CallRecord
from countersign.storage.database import Database

from ..cli.test_management_commands import document, failed_cleanly, ok


@pytest.fixture
def app_id(cs: Any) -> str:
    return str(document(cs("apps", "create", "Acme", "--json"))["app_id"])


def test_add_list_remove(cs: Any, app_id: str, tmp_path: Path) -> None:
    schema_file = tmp_path / "schema.json"
    schema_file.write_text(json.dumps({"type": "object", "required": ["order_id"]}))
    created = document(
        cs(
            "actions",
            "add",
            app_id,
            "refund",
            "--url",
            "https://api.example.com/refund",
            "--schema",
            f"@{schema_file}",
            "--timeout",
            "5",
            "--json",
        )
    )
    assert set(created) == {"id", "name", "signing_secret"}
    assert created["name"] == "refund"
    assert created["signing_secret"].startswith("whsec_")
    document(
        cs(
            "actions",
            "add",
            app_id,
            "status",
            "--url",
            "https://api.example.com/s",
            "--method",
            "get",
            "--json",
        )
    )

    listed = document(cs("actions", "list", app_id, "--json"))["data"]
    assert [row["name"] for row in listed] == ["refund", "status"]
    refund, status = listed
    assert refund["parameters_schema"] == {"type": "object", "required": ["order_id"]}
    assert (refund["timeout_seconds"], status["method"]) == (5, "GET")
    assert "signing_secret" not in json.dumps(listed)
    assert created["signing_secret"] not in ok(cs("actions", "list", app_id)).output

    ok(cs("actions", "remove", app_id, "refund"))
    assert [row["name"] for row in document(cs("actions", "list", app_id, "--json"))["data"]] == [
        "status"
    ]
    assert "action_not_found" in failed_cleanly(cs("actions", "remove", app_id, "refund"))


def test_the_secret_is_sealed_at_rest(
    cs: Any, app_id: str, tmp_path: Path, database_url: str
) -> None:
    created = document(
        cs("actions", "add", app_id, "refund", "--url", "https://api.example.com/r", "--json")
    )
    database = Database(
        load_settings(environ={}, data_dir=tmp_path, database_url=database_url).sqlalchemy_url
    )
    try:
        with database.engine.connect() as connection:
            rows = connection.exec_driver_sql("SELECT secret_ciphertext FROM actions").all()
        assert created["signing_secret"].encode() not in bytes(rows[0][0])
    finally:
        database.dispose()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--url", "http://127.0.0.1:8080/x"], "private_address"),
        (["--url", "http://169.254.169.254/latest/meta-data"], "private_address"),
        (["--url", "http://localhost/x"], "private_address"),
        (["--url", "http://[::1]/x"], "private_address"),
        (["--url", "ftp://example.com/"], "invalid_url"),
        (["--url", "https://user:pw@example.com/"], "invalid_url"),
        (
            ["--url", "https://example.com/", "--schema", '{"type": "nope"}'],
            "not a valid JSON Schema",
        ),
        (
            [
                "--url",
                "https://example.com/",
                "--schema",
                '{"$ref": "https://evil.example/s.json"}',
            ],
            "points outside",
        ),
        (["--url", "https://example.com/", "--schema", "[1"], "not JSON"),
        (["--url", "https://example.com/", "--timeout", "31"], "31"),
        (["--url", "https://example.com/", "--method", "TRACE"], "TRACE"),
    ],
)
def test_bad_definitions_are_refused(cs: Any, app_id: str, args: list[str], expected: str) -> None:
    result = cs("actions", "add", app_id, "refund", *args)
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert expected in result.output
    assert document(cs("actions", "list", app_id, "--json"))["data"] == []


@pytest.mark.parametrize("name", ["Refund", "refund-", "re fund", "a" * 65, "refund!"])
def test_bad_names_are_refused(cs: Any, app_id: str, name: str) -> None:
    assert "invalid_action" in failed_cleanly(
        cs("actions", "add", app_id, name, "--url", "https://example.com/")
    )


def test_private_network_allowed_deliberately(cs: Any, app_id: str) -> None:
    created = document(
        cs(
            "actions",
            "add",
            app_id,
            "local",
            "--url",
            "http://127.0.0.1:8080/x",
            "--allow-private-network",
            "--json",
        )
    )
    assert created["name"] == "local"
    [row] = document(cs("actions", "list", app_id, "--json"))["data"]
    assert row["allow_private_network"] is True


def test_duplicate_name_and_unknown_app(cs: Any, app_id: str) -> None:
    ok(cs("actions", "add", app_id, "refund", "--url", "https://example.com/"))
    assert "already has" in failed_cleanly(
        cs("actions", "add", app_id, "refund", "--url", "https://example.com/")
    )
    assert "app_not_found" in failed_cleanly(cs("actions", "list", "app_nope"))


def test_log(cs: Any, app_id: str, tmp_path: Path, database_url: str) -> None:
    assert "No action calls" in ok(cs("actions", "log", app_id)).output
    database = Database(
        load_settings(environ={}, data_dir=tmp_path, database_url=database_url).sqlalchemy_url
    )
    try:
        for outcome in ("ok", "refused"):
            entry = CallRecord(
                app_id,
                None,
                "refund",
                f"act_{outcome}",
                "widget",
                "con_x",
                "anonymous",
                outcome,
                None,
                3,
                None,
            )
            database.run_sync(lambda c, e=entry: actions.record_call(c, e))
    finally:
        database.dispose()
    rows = document(cs("actions", "log", app_id, "--json"))["data"]
    assert [row["outcome"] for row in rows] == ["refused", "ok"]
    assert "refused" in ok(cs("actions", "log", app_id)).output


def test_disable_and_enable_keep_the_definition(cs: Any, app_id: str) -> None:
    created = document(
        cs("actions", "add", app_id, "refund", "--url", "https://api.example.com/r", "--json")
    )
    disabled = document(cs("actions", "disable", app_id, "refund", "--json"))
    assert (disabled["id"], disabled["enabled"]) == (created["id"], False)
    assert document(cs("actions", "list", app_id, "--json"))["data"][0]["enabled"] is False
    enabled = document(cs("actions", "enable", app_id, "refund", "--json"))
    assert (enabled["id"], enabled["enabled"]) == (created["id"], True)
    assert "action_not_found" in failed_cleanly(cs("actions", "disable", app_id, "nope"))
