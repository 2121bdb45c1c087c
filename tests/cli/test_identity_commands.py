"""``countersign sign`` and ``countersign verify`` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from countersign import sign
from countersign.cli import cli

RFC_KEY = "Jefe"
RFC_MSG = "what do ya want for nothing?"
RFC_TAG = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_sign_prints_the_hash(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["sign", "--secret", RFC_KEY, RFC_MSG])
    assert result.exit_code == 0
    assert result.output == RFC_TAG + "\n"


@pytest.mark.parametrize("encoding", ["base64", "base64url"])
def test_sign_encodings(runner: CliRunner, encoding: str) -> None:
    result = runner.invoke(cli, ["sign", "--secret", RFC_KEY, "--encoding", encoding, RFC_MSG])
    assert result.output.strip() == sign(RFC_KEY, RFC_MSG, encoding=encoding)  # type: ignore[arg-type]


def test_secret_from_environment_and_file(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["sign", RFC_MSG], env={"COUNTERSIGN_SECRET": RFC_KEY})
    assert result.output.strip() == RFC_TAG
    secret_file = tmp_path / "secret"
    secret_file.write_text(RFC_KEY + "\n")  # as `echo Jefe > secret` writes it
    result = runner.invoke(cli, ["sign", "--secret-file", str(secret_file), RFC_MSG])
    assert result.output.strip() == RFC_TAG


def test_sign_without_secret_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["sign", "u1"], env={"COUNTERSIGN_SECRET": None})
    assert result.exit_code == 2
    assert "--secret" in result.output


def test_sign_refuses_a_control_character(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["sign", "--secret", "k" * 32, "a\nb"])
    assert result.exit_code == 2
    assert "control character" in result.output


def test_verify_valid_exits_zero(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["verify", "--secret", RFC_KEY, RFC_MSG, RFC_TAG])
    assert result.exit_code == 0
    assert result.output.startswith("valid")


def test_verify_rotation_accepts_the_old_secret(runner: CliRunner) -> None:
    old = sign("old" * 11, "u1")
    args = ["verify", "--secret", "old" * 11, "--secret", "new" * 11, "u1", old]
    assert runner.invoke(cli, args).exit_code == 0


def test_verify_invalid_exits_one_with_diagnosis(runner: CliRunner) -> None:
    bad = sign("k" * 32 + "\n", "u1")
    result = runner.invoke(cli, ["verify", "--secret", "k" * 32, "u1", bad])
    assert result.exit_code == 1
    assert result.output.startswith("invalid: secret_whitespace: ")
    assert "k" * 32 not in result.output


def test_verify_json(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["verify", "--json", "--secret", "k" * 32, "u1", "abc"])
    assert result.exit_code == 1
    document = json.loads(result.output)
    assert document["valid"] is False
    assert document["code"] == "malformed_signature"


def test_verify_revoked_and_app_id(runner: CliRunner) -> None:
    revoked = sign("r" * 32, "u1")
    args = ["verify", "--secret", "k" * 32, "--revoked-secret", "r" * 32, "u1", revoked]
    assert "revoked_secret" in runner.invoke(cli, args).output
    keyed_with_app_id = sign("app_123", "u1")
    args = ["verify", "--secret", "k" * 32, "--app-id", "app_123", "u1", keyed_with_app_id]
    assert "public_key_used" in runner.invoke(cli, args).output


def test_installed_console_script_runs() -> None:
    """The entry point a new user types, as a real process."""
    result = subprocess.run(
        [sys.executable, "-m", "countersign", "verify", "--secret", RFC_KEY, RFC_MSG, RFC_TAG],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
