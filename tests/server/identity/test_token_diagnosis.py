"""SPEC 15's token diagnosis: every code produced by the real mistake that causes it,
in the verification log with its fix, and in ``countersign verify-token``."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import jwt
import pytest
from click.testing import CliRunner

from countersign.cli import cli
from countersign.core import parse_jwk, token_fix
from countersign.storage import public_keys

from ...conftest import CLEAN_ENV
from ..conftest import Harness
from .keys import KeyPair, new_pair


def _register(harness: Harness, pair: KeyPair) -> None:
    key = parse_jwk(pair.public_jwk())
    harness.backend.database.run_sync(lambda c: public_keys.add_key(c, harness.app_id, key))
    harness.client.app.state.countersign.directory.invalidate(harness.app_id)  # type: ignore[attr-defined]


NOW = int(time.time())

#: code -> the mistake, as a function of (the registered pair, a revoked pair).
MISTAKES: dict[str, Callable[[KeyPair, KeyPair, Harness], str]] = {
    # the signature part lost on the way (a template that cut the token at a dot)
    "token_malformed": lambda pair, old, h: ".".join(pair.token("u1").split(".")[:2]),
    "token_unknown_kid": lambda pair, old, h: pair.token("u1", headers={"kid": "typo-kid"}),
    "token_alg_mismatch": lambda pair, old, h: jwt.encode(
        {"sub": "u1", "exp": NOW + 600}, "x" * 32, algorithm="HS256", headers={"kid": pair.kid}
    ),
    "token_bad_signature": lambda pair, old, h: new_pair(pair.alg, pair.kid).token("u1"),
    "token_expired": lambda pair, old, h: pair.token("u1", lifetime=-3600),
    "token_not_yet_valid": lambda pair, old, h: pair.token("u1", nbf=NOW + 3600),
    "token_wrong_audience": lambda pair, old, h: pair.token("u1", aud="app_someone_else"),
    "token_missing_claim": lambda pair, old, h: pair.token(None),
    "token_revoked_key": lambda pair, old, h: old.token("u1"),
}


@pytest.fixture
def keyed(harness: Harness) -> tuple[Harness, KeyPair, KeyPair]:
    pair, old = new_pair("EdDSA", "current"), new_pair("ES256", "retired")
    _register(harness, pair)
    _register(harness, old)
    harness.backend.database.run_sync(
        lambda c: public_keys.revoke_key(c, harness.app_id, "retired")
    )
    harness.client.app.state.countersign.directory.invalidate(harness.app_id)  # type: ignore[attr-defined]
    return harness, pair, old


@pytest.mark.parametrize("code", sorted(MISTAKES))
def test_each_mistake_gets_its_code_and_fix(
    keyed: tuple[Harness, KeyPair, KeyPair], code: str
) -> None:
    harness, pair, old = keyed
    response = harness.identify(user_id="u1", user_jwt=MISTAKES[code](pair, old, harness))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "identity_verification_failed"  # no oracle
    [entry] = harness.log()
    assert entry["code"] == code, entry["hint"]
    assert entry["hint"].endswith(token_fix(code))


def test_the_valid_token_is_ok(keyed: tuple[Harness, KeyPair, KeyPair]) -> None:
    harness, pair, _ = keyed
    assert harness.identify(user_jwt=pair.token("u1")).status_code == 200
    # A success is counted, for its key and minute, not logged as a row (SPEC 9).
    assert harness.log() == []
    assert harness.verified_count() == 1


def test_verify_token_prints_header_claims_and_verdict(
    make_harness: Callable[..., Harness], tmp_path: Path, database_url: str
) -> None:
    harness = make_harness()
    pair = new_pair("ES256", "es-1")
    _register(harness, pair)
    runner = CliRunner(env=CLEAN_ENV)
    where = ["--data-dir", str(tmp_path / "data"), "--database-url", database_url]
    good = pair.token("user-7", plan="pro")
    result = runner.invoke(cli, ["verify-token", "--app", harness.app_id, good, *where])
    assert result.exit_code == 0, result.output
    assert '"alg": "ES256"' in result.output
    assert '"sub": "user-7"' in result.output
    assert "valid (key pub_" in result.output
    expired = pair.token("user-7", lifetime=-3600)
    result = runner.invoke(
        cli, ["verify-token", "--app", harness.app_id, "--json", expired, *where]
    )
    assert result.exit_code == 1
    document = json.loads(result.output)
    assert (document["valid"], document["code"]) == (False, "token_expired")
    assert document["fix"] == token_fix("token_expired")
    assert document["claims"]["sub"] == "user-7"
    assert document["header"]["kid"] == "es-1"
