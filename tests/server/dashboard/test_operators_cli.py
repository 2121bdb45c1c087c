"""``countersign operators``: the only way to make the first operator, and the
``serve`` hint that says so."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from countersign.cli import cli
from countersign.cli.operators import serve_hint
from countersign.operators import passwords
from countersign.settings import load_settings
from countersign.storage import operators
from countersign.storage.database import Database
from countersign.vocabulary.clock import utcnow
from countersign.vocabulary.ids import token_digest

CLEAN_ENV: dict[str, str | None] = {
    "COUNTERSIGN_DATA_DIR": None,
    "COUNTERSIGN_DATABASE_URL": None,
    "COUNTERSIGN_MASTER_KEY": None,
}

Invoke = Callable[..., Result]


@pytest.fixture
def cs(tmp_path: Path) -> Invoke:
    runner = CliRunner(env=CLEAN_ENV)

    def invoke(*args: str, input: str | None = None) -> Result:
        return runner.invoke(cli, [*args, "--data-dir", str(tmp_path)], input=input)

    return invoke


def test_create_and_list(cs: Invoke, tmp_path: Path) -> None:
    created = cs(
        "operators",
        "create",
        "Ann@Example.com",
        "--password-stdin",
        "--json",
        input="a long enough password\n",
    )
    assert created.exit_code == 0, created.output
    record = json.loads(created.stdout)
    assert record["email"] == "ann@example.com"
    assert record["role"] == "owner"
    assert record["name"] == "ann"
    agent = cs(
        "operators",
        "create",
        "bo@example.com",
        "--role",
        "agent",
        "--name",
        "Bo",
        "--password-stdin",
        input="another long password",
    )
    assert agent.exit_code == 0, agent.output
    listed = json.loads(cs("operators", "list", "--json").stdout)["data"]
    assert [(row["email"], row["role"]) for row in listed] == [
        ("ann@example.com", "owner"),
        ("bo@example.com", "agent"),
    ]
    assert "password" not in json.dumps(listed)
    table = cs("operators", "list").stdout
    assert "ann@example.com" in table
    assert "agent" in table
    # The password was read without its trailing newline, and only its hash is stored.
    database = Database(load_settings(environ={}, data_dir=tmp_path).sqlalchemy_url)
    found = database.run_sync(lambda c: operators.credentials(c, "ann@example.com"))
    database.dispose()
    assert found is not None
    assert found[1].startswith("$argon2id$")
    assert passwords.check_password(found[1], "a long enough password")


@pytest.mark.parametrize(
    ("arguments", "stdin", "error"),
    [
        (["not-an-email"], "a long enough password", "invalid_operator"),
        (["c@example.com"], "short", "weak_password"),
        (["c@example.com"], "c@example.com", "weak_password"),
        (["c@example.com", "--role", "admin"], "a long enough password", "Invalid value"),
    ],
)
def test_refusals(cs: Invoke, arguments: list[str], stdin: str, error: str) -> None:
    result = cs("operators", "create", *arguments, "--password-stdin", input=stdin)
    assert result.exit_code != 0
    assert error in result.output
    assert "Traceback" not in result.output


def test_a_second_operator_with_the_same_email_is_refused(cs: Invoke) -> None:
    for expected in (0, 1):
        result = cs(
            "operators",
            "create",
            "dup@example.com",
            "--password-stdin",
            input="a long enough password",
        )
        assert result.exit_code == expected, result.output
    assert "operator_exists" in result.output


def test_without_a_terminal_the_password_must_come_from_stdin(cs: Invoke) -> None:
    result = cs("operators", "create", "d@example.com", input="")
    assert result.exit_code == 2
    assert "--password-stdin" in result.output


def test_set_password_logs_the_operator_out_and_remove_deletes(cs: Invoke, tmp_path: Path) -> None:
    cs("operators", "create", "e@example.com", "--password-stdin", input="first password!")
    database = Database(load_settings(environ={}, data_dir=tmp_path).sqlalchemy_url)
    record, _ = database.run_sync(lambda c: operators.credentials(c, "e@example.com"))  # type: ignore[misc]
    database.run_sync(
        lambda c: operators.open_session(
            c, record.id, token_digest("t"), now=utcnow(), ttl=timedelta(hours=1), client_ip=None
        )
    )
    assert database.run_sync(lambda c: operators.session_operator(c, token_digest("t"), utcnow()))
    changed = cs(
        "operators", "set-password", "E@example.com", "--password-stdin", input="second password!"
    )
    assert changed.exit_code == 0, changed.output
    assert (
        database.run_sync(lambda c: operators.session_operator(c, token_digest("t"), utcnow()))
        is None
    )
    _, stored = database.run_sync(lambda c: operators.credentials(c, "e@example.com"))  # type: ignore[misc]
    assert passwords.check_password(stored, "second password!")
    assert cs("operators", "remove", "e@example.com").exit_code == 0
    assert database.run_sync(operators.operator_count) == 0
    assert "operator_not_found" in cs("operators", "remove", "e@example.com").output
    database.dispose()


def test_serve_hint_shows_the_first_run_command_until_an_operator_exists(
    cs: Invoke, tmp_path: Path
) -> None:
    cs("operators", "list")  # creates and migrates the database
    settings = load_settings(environ={}, data_dir=tmp_path)
    hint = serve_hint(settings, "http://127.0.0.1:8250")
    assert hint.startswith("Dashboard: http://127.0.0.1:8250/dashboard")
    assert (
        f"countersign operators create you@example.com --password-stdin --role owner --data-dir {tmp_path}"
        in hint
    )
    cs("operators", "create", "f@example.com", "--password-stdin", input="a long enough password")
    assert serve_hint(settings, "http://127.0.0.1:8250") == (
        "Dashboard: http://127.0.0.1:8250/dashboard"
    )
