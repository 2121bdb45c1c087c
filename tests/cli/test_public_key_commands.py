"""``countersign public-keys add/list/revoke`` as an operator runs them: a key pair
made with the tools a customer has, only the public half registered."""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from ..conftest import Invoke
from ..server.identity.keys import new_pair


def _app(cs: Invoke) -> str:
    result = cs("apps", "create", "Acme", "--json")
    assert result.exit_code == 0, result.output
    return str(json.loads(result.output)["app_id"])


def test_add_list_revoke_with_json(cs: Invoke, tmp_path: Path) -> None:
    app_id = _app(cs)
    ed = new_pair("EdDSA", "ed-2026")
    jwk_file = tmp_path / "public.jwk"
    jwk_file.write_text(json.dumps(ed.public_jwk()))
    added = cs("public-keys", "add", app_id, "--jwk", str(jwk_file), "--json")
    assert added.exit_code == 0, added.output
    document = json.loads(added.output)
    assert (document["kid"], document["alg"], document["active"]) == ("ed-2026", "EdDSA", True)
    assert "d" not in document["public_jwk"]
    es = new_pair("ES256")
    pem_file = tmp_path / "public.pem"
    pem_file.write_text(es.public_pem())
    added = cs("public-keys", "add", app_id, "--pem", str(pem_file), "--kid", "es-1", "--json")
    assert added.exit_code == 0, added.output
    listed = json.loads(cs("public-keys", "list", app_id, "--json").output)["data"]
    assert [(row["kid"], row["alg"]) for row in listed] == [("ed-2026", "EdDSA"), ("es-1", "ES256")]
    text = cs("public-keys", "list", app_id).output
    assert "ed-2026" in text
    assert "LAST_USED" in text
    revoked = cs("public-keys", "revoke", app_id, "ed-2026", "--json")
    assert revoked.exit_code == 0, revoked.output
    assert json.loads(revoked.output)["active"] is False


def test_private_keys_are_refused_and_nothing_is_stored(cs: Invoke, tmp_path: Path) -> None:
    app_id = _app(cs)
    pair = new_pair("EdDSA")
    private_jwk = tmp_path / "private.jwk"
    private_jwk.write_text(json.dumps(pair.private_jwk()))
    result = cs("public-keys", "add", app_id, "--jwk", str(private_jwk))
    assert result.exit_code == 1
    assert "private key material" in result.output
    private_pem = tmp_path / "private.pem"
    private_pem.write_bytes(
        pair.private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    result = cs("public-keys", "add", app_id, "--pem", str(private_pem), "--kid", "k")
    assert result.exit_code == 1
    assert "private key" in result.output
    assert json.loads(cs("public-keys", "list", app_id, "--json").output)["data"] == []


def test_usage_errors(cs: Invoke, tmp_path: Path) -> None:
    app_id = _app(cs)
    pem = tmp_path / "p.pem"
    pem.write_text(new_pair("EdDSA").public_pem())
    assert cs("public-keys", "add", app_id).exit_code == 2
    assert "--kid" in cs("public-keys", "add", app_id, "--pem", str(pem)).output
    result = cs("public-keys", "add", app_id, "--jwks-url", "http://example.com/jwks.json")
    assert result.exit_code == 2
    assert "https" in result.output
    result = cs("public-keys", "revoke", app_id, "nope")
    assert result.exit_code == 1
    assert "public_key_not_found" in result.output
