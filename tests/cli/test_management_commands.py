"""``countersign apps|secrets|keys|log|db`` as an operator runs them, on both backends."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from countersign import sign
from countersign.cli import cli
from countersign.settings import load_settings
from countersign.storage import verification_counts, verification_log
from countersign.storage.database import Database

from ..conftest import CLEAN_ENV, Invoke


def ok(result: Result) -> Result:
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def document(result: Result) -> Any:
    """The one JSON document on stdout (json.loads refuses a second one)."""
    return json.loads(ok(result).stdout)


def failed_cleanly(result: Result, exit_code: int = 1) -> str:
    """The error message of a command that failed as a user error, without a traceback."""
    assert result.exit_code == exit_code, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert result.stdout == ""
    return result.stderr


def create_app(cs: Invoke, name: str = "Acme") -> dict[str, Any]:
    created: dict[str, Any] = document(cs("apps", "create", name, "--json"))
    return created


# apps create ---------------------------------------------------------------------------


def test_create_on_a_fresh_data_dir_makes_a_private_master_key(tmp_path: Path) -> None:
    data_dir = tmp_path / "new" / "countersign"
    runner = CliRunner(env=CLEAN_ENV)
    result = runner.invoke(cli, ["apps", "create", "Acme", "--json", "--data-dir", str(data_dir)])
    created = document(result)
    key_file = data_dir / "master.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert (data_dir / "countersign.db").is_file()
    assert set(created) == {"app_id", "secret", "secret_id", "api_key", "api_key_id"}
    assert created["app_id"].startswith("app_")
    assert created["secret_id"].startswith("sec_")
    assert created["api_key_id"].startswith("key_")
    # The printed secret is the one the app verifies with.
    verify = runner.invoke(
        cli,
        ["verify", "--secret", created["secret"], "u1", sign(created["secret"], "u1")],
    )
    assert verify.exit_code == 0


def test_create_human_output_shows_the_credentials_once_and_the_next_step(cs: Invoke) -> None:
    text = ok(cs("apps", "create", "Acme")).stdout
    listed = document(cs("apps", "list", "--json"))["data"]
    assert [app["name"] for app in listed] == ["Acme"]
    assert listed[0]["app_id"] in text
    assert "not shown again" in text
    assert "countersign sign --secret css_" in text
    assert text.count("csk_") == 1  # the API key, once


def test_create_refuses_a_blank_name(cs: Invoke) -> None:
    assert "invalid_policy" in failed_cleanly(cs("apps", "create", "   "))


# JSON shapes ----------------------------------------------------------------------------


def test_list_and_show_json_shapes(cs: Invoke) -> None:
    created = create_app(cs)
    app_id = created["app_id"]
    listing = document(cs("apps", "list", "--json"))
    assert set(listing) == {"data"}
    shown = document(cs("apps", "show", app_id, "--json"))
    # show adds the upload limits (SPEC 11) to what the listing has of each app
    uploads = {"max_attachment_bytes", "attachment_types"}
    assert listing["data"] == [{k: v for k, v in shown.items() if k not in uploads}]
    assert shown["app_id"] == app_id
    assert shown["identity_mode"] == "required"
    assert shown["on_mismatch"] == "reject"
    assert shown["identifier"] == "user_id"
    assert shown["max_metadata_chars"] == 1000
    assert shown["allowed_origins"] == []

    secrets = document(cs("secrets", "list", app_id, "--json"))["data"]
    assert [secret["id"] for secret in secrets] == [created["secret_id"]]
    assert set(secrets[0]) >= {"id", "active", "created_at", "last_used_at", "use_count"}
    assert secrets[0]["active"] is True
    assert secrets[0]["revoked_at"] is None

    keys = document(cs("keys", "list", app_id, "--json"))["data"]
    assert [key["id"] for key in keys] == [created["api_key_id"]]


def test_every_json_output_is_exactly_one_document(cs: Invoke) -> None:
    app_id = create_app(cs)["app_id"]
    secret_id = document(cs("secrets", "create", app_id, "--json"))["id"]
    key_id = document(cs("keys", "create", app_id, "--json"))["id"]
    commands = [
        ["apps", "list"],
        ["apps", "show", app_id],
        ["apps", "set", app_id, "--identity-mode", "off"],  # warns, on stderr only
        ["apps", "list"],
        ["secrets", "list", app_id],
        ["secrets", "revoke", app_id, secret_id],
        ["keys", "list", app_id],
        ["keys", "revoke", app_id, key_id],
        ["log", app_id],
        ["db", "current"],
        ["db", "upgrade"],
    ]
    for command in commands:
        result = ok(cs(*command, "--json"))
        decoded = json.loads(result.stdout)
        assert isinstance(decoded, dict), command
        assert result.stdout.strip().startswith("{"), command


# apps set -------------------------------------------------------------------------------


def test_set_changes_the_policy(cs: Invoke) -> None:
    app_id = create_app(cs)["app_id"]
    updated = document(
        cs(
            "apps",
            "set",
            app_id,
            "--identity-mode",
            "report",
            "--on-mismatch",
            "anonymous",
            "--identifier",
            "email",
            "--max-metadata-chars",
            "500",
            "--allowed-origin",
            "https://App.Example.com",
            "--allowed-origin",
            "http://localhost:3000",
            "--json",
        )
    )
    assert updated["identity_mode"] == "report"
    assert updated["on_mismatch"] == "anonymous"
    assert updated["identifier"] == "email"
    assert updated["max_metadata_chars"] == 500
    assert updated["allowed_origins"] == ["http://localhost:3000", "https://app.example.com"]
    assert document(cs("apps", "show", app_id, "--json")) == updated

    cleared = document(cs("apps", "set", app_id, "--clear-origins", "--json"))
    assert cleared["allowed_origins"] == []
    assert cleared["identity_mode"] == "report"  # untouched settings stay


def test_set_off_warns_loudly_on_stderr(cs: Invoke) -> None:
    app_id = create_app(cs)["app_id"]
    result = ok(cs("apps", "set", app_id, "--identity-mode", "off", "--json"))
    assert json.loads(result.stdout)["identity_mode"] == "off"
    assert "OFF" in result.stderr
    assert "--identity-mode required" in result.stderr
    assert "OFF" in ok(cs("apps", "show", app_id)).stderr


@pytest.mark.parametrize(
    ("arguments", "exit_code", "message"),
    [
        (["--identity-mode", "enforce"], 2, "'enforce' is not one of"),
        (["--on-mismatch", "drop"], 2, "'drop' is not one of"),
        (["--identifier", "phone"], 2, "'phone' is not one of"),
        (["--max-metadata-chars", "-1"], 2, "--max-metadata-chars"),
        (["--allowed-origin", "https://x.com/path"], 1, "is not an origin"),
        (["--allowed-origin", "x.com"], 1, "is not an origin"),
        (["--allowed-origin", "https://a.com", "--clear-origins"], 2, "not both"),
        ([], 2, "nothing to change"),
    ],
)
def test_set_refuses_bad_values(
    cs: Invoke, arguments: list[str], exit_code: int, message: str
) -> None:
    app_id = create_app(cs)["app_id"]
    error = failed_cleanly(cs("apps", "set", app_id, *arguments), exit_code)
    assert message in error
    assert document(cs("apps", "show", app_id, "--json"))["allowed_origins"] == []


@pytest.mark.parametrize(
    "command",
    [
        ["apps", "show", "app_missing"],
        ["apps", "set", "app_missing", "--identity-mode", "report"],
        ["secrets", "create", "app_missing"],
        ["secrets", "list", "app_missing"],
        ["secrets", "revoke", "app_missing", "sec_x"],
        ["keys", "create", "app_missing"],
        ["keys", "list", "app_missing"],
        ["keys", "revoke", "app_missing", "key_x"],
        ["log", "app_missing"],
    ],
)
def test_unknown_app_is_a_clean_error(cs: Invoke, command: list[str]) -> None:
    error = failed_cleanly(cs(*command))
    assert "app_not_found" in error
    assert "app_missing" in error


# secrets and keys -----------------------------------------------------------------------


def test_revoked_secret_shows_as_revoked(cs: Invoke) -> None:
    created = create_app(cs)
    app_id = created["app_id"]
    new = document(cs("secrets", "create", app_id, "--json"))
    assert set(new) == {"id", "secret"}
    assert new["secret"].startswith("css_")

    revoked = document(cs("secrets", "revoke", app_id, created["secret_id"], "--json"))
    assert revoked["revoked_at"] is not None
    assert revoked["active"] is False

    listed = {row["id"]: row for row in document(cs("secrets", "list", app_id, "--json"))["data"]}
    assert listed[created["secret_id"]]["active"] is False
    assert listed[created["secret_id"]]["revoked_at"] is not None
    assert listed[new["id"]]["active"] is True
    table = ok(cs("secrets", "list", app_id)).stdout
    old_row = next(line for line in table.splitlines() if line.startswith(created["secret_id"]))
    assert " no " in old_row


def test_revoking_the_last_secret_warns(cs: Invoke) -> None:
    created = create_app(cs)
    result = ok(cs("secrets", "revoke", created["app_id"], created["secret_id"]))
    assert "no active identity secret" in result.stderr


def test_revoking_an_unknown_secret_fails(cs: Invoke) -> None:
    app_id = create_app(cs)["app_id"]
    assert "secret_not_found" in failed_cleanly(cs("secrets", "revoke", app_id, "sec_nope"))


def test_listings_never_print_a_secret_or_key(cs: Invoke) -> None:
    created = create_app(cs)
    app_id = created["app_id"]
    rotated = document(cs("secrets", "create", app_id, "--json"))["secret"]
    extra_key = document(cs("keys", "create", app_id, "--json"))["api_key"]
    credentials = [created["secret"], created["api_key"], rotated, extra_key]
    cs("secrets", "revoke", app_id, created["secret_id"])
    for command in (
        ["secrets", "list", app_id],
        ["keys", "list", app_id],
        ["apps", "list"],
        ["apps", "show", app_id],
        ["apps", "set", app_id, "--identifier", "email"],
        ["secrets", "revoke", app_id, created["secret_id"]],
        ["log", app_id],
    ):
        for as_json in ([], ["--json"]):
            output = ok(cs(*command, *as_json)).output
            for credential in credentials:
                assert credential not in output, command
                assert credential[4:20] not in output, command


def test_api_keys_create_list_revoke(cs: Invoke) -> None:
    app_id = create_app(cs)["app_id"]
    key = document(cs("keys", "create", app_id, "--json"))
    assert set(key) == {"id", "api_key"}
    assert key["api_key"].startswith("csk_")
    revoked = document(cs("keys", "revoke", app_id, key["id"], "--json"))
    assert revoked["revoked_at"] is not None
    listed = {row["id"]: row for row in document(cs("keys", "list", app_id, "--json"))["data"]}
    assert listed[key["id"]]["revoked_at"] is not None
    again = failed_cleanly(cs("keys", "revoke", app_id, key["id"]))
    assert "no active API key" in again


# log ------------------------------------------------------------------------------------


def test_log_shows_outcomes_newest_first_and_filters(cs: Invoke, database_url: str) -> None:
    app_id = create_app(cs)["app_id"]
    now = datetime.now(UTC)
    hint = "Your backend signs with the secret plus a trailing newline; strip it."
    # (minutes ago, what differs), inserted out of order.
    entries: list[tuple[int, dict[str, Any]]] = [
        (30, {"outcome": "verified", "code": "ok", "identifier": "u-old"}),
        (0, {"outcome": "unverified", "code": "identifier_case", "identifier": "\x1b[2Jevil"}),
        (20, {"outcome": "refused", "code": "secret_whitespace", "hint": hint}),
        (10, {"outcome": "anonymous", "code": "ok", "identifier": None}),
    ]
    rows = [
        {
            "app_id": app_id,
            "at": now - timedelta(minutes=minutes),
            "method": "hash",
            "identifier": "u-1",
            "origin": "https://app.example.com",
            **entry,
        }
        for minutes, entry in entries
    ]
    database = Database(load_settings({}, database_url=database_url).sqlalchemy_url)
    database.run_sync(lambda c: verification_log.insert_entries(c, rows))
    database.dispose()

    logged = document(cs("log", app_id, "--json"))
    assert [row["outcome"] for row in logged["data"]] == [
        "unverified",
        "anonymous",
        "refused",
        "verified",
    ]
    assert logged["last_24h"] == {"verified": 1, "unverified": 1, "refused": 1, "anonymous": 1}
    refused = document(cs("log", app_id, "--outcome", "refused", "--json"))["data"]
    assert [(row["code"], row["hint"]) for row in refused] == [("secret_whitespace", hint)]
    assert len(document(cs("log", app_id, "--limit", "2", "--json"))["data"]) == 2

    text = ok(cs("log", app_id)).stdout
    assert text.index("identifier_case") < text.index("secret_whitespace") < text.index("u-old")
    assert f"fix: {hint}" in text
    assert "https://app.example.com" in text
    assert "\x1b" not in text  # a claimed identifier cannot drive the terminal
    assert "\\x1b[2Jevil" in text


def test_log_shows_successes_as_counts_per_minute(cs: Invoke, database_url: str) -> None:
    app_id = create_app(cs)["app_id"]
    now = datetime.now(UTC)
    database = Database(load_settings({}, database_url=database_url).sqlalchemy_url)
    database.run_sync(
        lambda c: verification_counts.add_successes(
            c, {(app_id, "sec_a", now): 7, (app_id, "", now - timedelta(minutes=5)): 2}
        )
    )
    failure = {"app_id": app_id, "at": now, "outcome": "refused", "method": "hash",
               "code": "unknown", "identifier": "u-bad"}  # fmt: skip
    database.run_sync(lambda c: verification_log.insert_entries(c, [failure]))
    database.dispose()

    logged = document(cs("log", app_id, "--json"))
    assert [row["outcome"] for row in logged["data"]] == ["refused"]
    assert [(r["secret_id"], r["count"]) for r in logged["verified_per_minute"]] == [
        ("sec_a", 7),
        (None, 2),
    ]
    assert logged["last_24h"]["verified"] == 9
    only = document(cs("log", app_id, "--outcome", "verified", "--json"))
    assert only["data"] == []
    assert len(only["verified_per_minute"]) == 2
    refused = document(cs("log", app_id, "--outcome", "refused", "--json"))
    assert refused["verified_per_minute"] == []
    text = ok(cs("log", app_id)).stdout
    assert "verified, counted per minute (UTC):" in text
    assert "sec_a" in text
    assert "u-bad" in text
    assert "MINUTE" in text
    assert "VERIFIED" in text


def test_log_refuses_an_unknown_outcome(cs: Invoke) -> None:
    app_id = create_app(cs)["app_id"]
    assert "'ok' is not one of" in failed_cleanly(cs("log", app_id, "--outcome", "ok"), 2)


# db and settings ------------------------------------------------------------------------


@pytest.mark.empty_database  # a test of the migrations: from nothing
def test_db_current_and_upgrade_on_an_empty_database(cs: Invoke) -> None:
    before = document(cs("db", "current", "--json"))
    assert before["revision"] is None
    assert before["head"]
    upgraded = document(cs("db", "upgrade", "--json"))
    assert upgraded == {"previous": None, "revision": before["head"]}
    assert document(cs("db", "current", "--json")) == {
        "revision": before["head"],
        "head": before["head"],
    }
    assert "already at" in ok(cs("db", "upgrade")).stdout


def test_settings_errors_are_clean(tmp_path: Path) -> None:
    runner = CliRunner(env=CLEAN_ENV)
    base = ["apps", "list", "--data-dir", str(tmp_path)]

    bad_url = runner.invoke(cli, [*base, "--database-url", "mysql://db/x"])
    assert "database URL" in failed_cleanly(bad_url)

    bad_key = CliRunner(env={**CLEAN_ENV, "COUNTERSIGN_MASTER_KEY": "short"})
    assert "COUNTERSIGN_MASTER_KEY" in failed_cleanly(bad_key.invoke(cli, base))


def test_an_unreachable_database_is_a_clean_error(tmp_path: Path) -> None:
    runner = CliRunner(env=CLEAN_ENV)
    url = "postgresql://nobody:hunter2@127.0.0.1:1/none?connect_timeout=2"
    result = runner.invoke(
        cli, ["apps", "list", "--data-dir", str(tmp_path), "--database-url", url]
    )
    error = failed_cleanly(result)
    assert "cannot use the database" in error
    assert "hunter2" not in error


def test_the_real_console_script_on_a_fresh_data_dir(tmp_path: Path) -> None:
    """What a new user types first, as real processes sharing one data dir."""
    data_dir = tmp_path / "data"
    env = {key: value for key, value in os.environ.items() if not key.startswith("COUNTERSIGN_")}
    env["COUNTERSIGN_DATA_DIR"] = str(data_dir)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "countersign", *args],
            capture_output=True,
            text=True,
            env=env,
            check=False,
            timeout=60,
        )

    created = run("apps", "create", "Demo", "--json")
    assert created.returncode == 0, created.stderr
    app = json.loads(created.stdout)
    assert stat.S_IMODE((data_dir / "master.key").stat().st_mode) == 0o600

    listed = run("secrets", "list", app["app_id"], "--json")
    assert listed.returncode == 0, listed.stderr
    assert [row["id"] for row in json.loads(listed.stdout)["data"]] == [app["secret_id"]]
    assert app["secret"] not in listed.stdout

    missing = run("apps", "show", "app_missing")
    assert missing.returncode == 1
    assert "app_not_found" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_set_changes_the_upload_limits(cs: Invoke) -> None:
    app_id = create_app(cs)["app_id"]
    shown = document(cs("apps", "show", app_id, "--json"))
    assert shown["max_attachment_bytes"] == 10_000_000
    assert "png" in shown["attachment_types"]
    updated = document(
        cs(
            "apps",
            "set",
            app_id,
            "--max-attachment-bytes",
            "5000",
            "--attachment-types",
            "png,jpg,pdf",
            "--json",
        )
    )
    assert updated["max_attachment_bytes"] == 5000
    assert updated["attachment_types"] == ["png", "jpeg", "pdf"]
    assert updated["identity_mode"] == shown["identity_mode"]
    refused = cs("apps", "set", app_id, "--attachment-types", "png,svg")
    assert refused.exit_code == 2
    assert "svg" in refused.output
