"""SPEC 15: revoking one user after a leak. Their sessions end, their old hash and old
tokens stop working, a token issued afterwards verifies, and everyone else is
untouched; over the server API, the client library, the CLI and the dashboard."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner

from countersign import issue_identity_token, sign
from countersign.cli import cli
from countersign.core import KeyRing, RingKey, Secret, parse_jwk
from countersign.storage import operators, public_keys
from countersign.vocabulary.clock import utcnow

from ...conftest import CLEAN_ENV
from ..conftest import Harness
from .keys import new_pair


def _ring(harness: Harness) -> KeyRing:
    return KeyRing([RingKey(harness.secret_id, Secret(harness.secret))])


def _api(harness: Harness) -> dict[str, str]:
    return {"Authorization": f"Bearer {harness.api_key}"}


def _session_ok(harness: Harness, token: str) -> bool:
    response = harness.client.get(
        "/v1/widget/conversations", headers=harness.session_headers(token)
    )
    return response.status_code == 200


def test_revoking_one_user_over_the_server_api(harness: Harness) -> None:
    pair = new_pair("EdDSA")
    key = parse_jwk(pair.public_jwk())
    harness.backend.database.run_sync(lambda c: public_keys.add_key(c, harness.app_id, key))
    harness.client.app.state.countersign.directory.invalidate(harness.app_id)  # type: ignore[attr-defined]
    leaked = harness.verified("leaky")["session_token"]
    by_token = harness.identify(user_jwt=pair.token("leaky")).json()["session_token"]
    old_token = issue_identity_token(_ring(harness), user_id="leaky")
    bystander = harness.verified("bystander")["session_token"]

    response = harness.client.post("/v1/users/leaky/revoke", headers=_api(harness))
    assert response.status_code == 200, response.text
    document = response.json()
    assert (document["revoked"], document["user_id"]) == (True, "leaky")
    assert document["sessions_ended"] == 2

    assert not _session_ok(harness, leaked)
    assert not _session_ok(harness, by_token)
    assert _session_ok(harness, bystander)  # everyone else is untouched
    assert harness.verified("bystander")["identity"]["status"] == "verified"

    refused = harness.identify(user_id="leaky", user_hash=sign(harness.secret, "leaky"))
    assert refused.status_code == 401
    assert harness.identify(user_jwt=old_token).status_code == 401
    codes = [entry["code"] for entry in harness.log(limit=3)]
    assert codes[:2] == ["user_revoked", "user_requires_token"]
    # Only a token issued after the revocation names the user now.
    fresh = issue_identity_token(
        _ring(harness), user_id="leaky", now=utcnow() + timedelta(seconds=2)
    )
    assert harness.identify(user_jwt=fresh).json()["identity"]["status"] == "verified"
    later = pair.token("leaky", iat=int(utcnow().timestamp()) + 2)
    assert harness.identify(user_jwt=later).status_code == 200

    # The verification log and the audit trail record it.
    logged = [entry for entry in harness.log(limit=50) if entry["outcome"] == "revoked"]
    assert [(entry["identifier"], entry["code"]) for entry in logged] == [("leaky", "user_revoked")]
    audit = harness.backend.database.run_sync(
        lambda c: operators.recent_audit(c, harness.app_id, actions=("user.revoked",))
    )
    assert [(row["action"], row["target"]) for row in audit] == [("user.revoked", "leaky")]


def test_bad_user_ids_are_refused(harness: Harness) -> None:
    response = harness.client.post("/v1/users/a%00b/revoke", headers=_api(harness))
    assert response.status_code == 400  # NUL is refused before any route
    assert "code" in response.json()["error"]
    response = harness.client.post("/v1/users/" + "x" * 300 + "/revoke", headers=_api(harness))
    assert response.status_code == 422
    assert harness.client.post("/v1/users/u1/revoke").status_code == 401


def test_the_cli_revokes(
    make_harness: Callable[..., Harness], tmp_path: Path, database_url: str
) -> None:
    harness = make_harness()
    token = harness.verified("cli-user")["session_token"]
    where = ["--data-dir", str(tmp_path / "data"), "--database-url", database_url]
    result = CliRunner(env=CLEAN_ENV).invoke(
        cli, ["users", "revoke", harness.app_id, "cli-user", "--json", *where]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["sessions_ended"] == 1
    assert not _session_ok(harness, token)
    harness.client.app.state.countersign.directory.invalidate(harness.app_id)  # type: ignore[attr-defined]
    assert (
        harness.identify(user_id="cli-user", user_hash=sign(harness.secret, "cli-user")).status_code
        == 401
    )
