"""SPEC 15: identity tokens signed with the customer's private key, verified against
the public key it registered, end to end over HTTP on both databases; alg confusion
and bad keys refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from countersign.core import InvalidPublicKey, parse_jwk, parse_jwks, parse_pem
from countersign.storage import public_keys

from ..conftest import Harness
from .keys import ALGORITHMS, KeyPair, jwks, new_pair


def register(harness: Harness, pair: KeyPair) -> str:
    key = parse_jwk(pair.public_jwk())
    info = harness.backend.database.run_sync(lambda c: public_keys.add_key(c, harness.app_id, key))
    harness.client.app.state.countersign.directory.invalidate(harness.app_id)  # type: ignore[attr-defined]
    return info.id


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_each_algorithm_verifies_end_to_end(harness: Harness, alg: str) -> None:
    pair = new_pair(alg)
    key_id = register(harness, pair)
    response = harness.identify(user_jwt=pair.token("user-42", name="Ada", plan="pro"))
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["identity"]["status"] == "verified"
    assert document["contact"]["user_id"] == "user-42"
    assert document["contact"]["attributes"]["plan"] == "pro"
    token = document["session_token"]
    assert (
        harness.client.get(
            "/v1/widget/conversations", headers=harness.session_headers(token)
        ).status_code
        == 200
    )
    # Counted for the key that verified it, its minute; no log row (SPEC 9).
    assert harness.log() == []
    [count] = harness.successes()
    assert (count["secret_id"], count["count"]) == (key_id, 1)
    assert harness.last_verified_at(document["contact"]["id"]) is not None
    # Its use is counted, for the dashboard's "last used".
    [info] = harness.backend.database.run_sync(lambda c: public_keys.list_keys(c, harness.app_id))
    assert info.use_count == 1
    assert info.last_used_at is not None


def test_revoking_the_key_ends_its_sessions_and_refuses_its_tokens(harness: Harness) -> None:
    pair = new_pair("EdDSA")
    register(harness, pair)
    token = harness.identify(user_jwt=pair.token("u1")).json()["session_token"]
    harness.backend.database.run_sync(lambda c: public_keys.revoke_key(c, harness.app_id, pair.kid))
    harness.client.app.state.countersign.directory.invalidate(harness.app_id)  # type: ignore[attr-defined]
    headers = harness.session_headers(token)
    assert harness.client.get("/v1/widget/conversations", headers=headers).status_code == 401
    assert harness.identify(user_jwt=pair.token("u1")).status_code == 401
    assert harness.log()[0]["code"] == "token_revoked_key"


def _hs256(header: dict[str, Any], payload: dict[str, Any], key: bytes) -> str:
    def part(data: dict[str, Any]) -> str:
        raw = json.dumps(data, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    signing_input = f"{part(header)}.{part(payload)}"
    mac = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


@pytest.mark.parametrize("alg", ALGORITHMS)
@pytest.mark.parametrize("keying", ["pem", "raw", "jwk"])
def test_hs256_keyed_with_the_public_key_is_refused(
    harness: Harness, alg: str, keying: str
) -> None:
    """The classic confusion: the public key's bytes used as an HMAC secret."""
    pair = new_pair(alg)
    register(harness, pair)
    if keying == "pem":
        key = pair.public_pem().encode()
    elif keying == "jwk":
        key = json.dumps(pair.public_jwk()).encode()
    elif alg == "EdDSA":
        key = base64.urlsafe_b64decode(pair.public_jwk()["x"] + "==")
    else:
        key = pair.public_pem().encode().strip()
    payload = {"sub": "admin", "exp": 2_000_000_000, "iat": 1_700_000_000}
    token = _hs256({"alg": "HS256", "typ": "JWT", "kid": pair.kid}, payload, key)
    response = harness.identify(user_jwt=token)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "identity_verification_failed"
    assert harness.log()[0]["code"] == "token_alg_mismatch"


def test_a_token_of_another_algorithm_for_the_key_is_refused(harness: Harness) -> None:
    ed = new_pair("EdDSA", "shared")
    register(harness, ed)
    es = new_pair("ES256", "shared")  # same kid, other key type
    assert harness.identify(user_jwt=es.token("u1")).status_code == 401
    assert harness.log()[0]["code"] == "token_alg_mismatch"


def test_alg_none_and_crit_are_refused(harness: Harness) -> None:
    pair = new_pair("EdDSA")
    register(harness, pair)
    unsigned = jwt.encode(
        {"sub": "u1", "exp": 2_000_000_000}, None, algorithm="none", headers={"kid": pair.kid}
    )
    assert harness.identify(user_jwt=unsigned).status_code == 401
    critical = pair.token("u1", headers={"crit": ["b64"], "b64": False})
    assert harness.identify(user_jwt=critical).status_code == 401
    codes = [entry["code"] for entry in harness.log()]
    assert sorted(codes) == ["token_alg_mismatch", "token_malformed"]


def test_a_64_kb_token_is_refused_before_parsing(harness: Harness) -> None:
    pair = new_pair("EdDSA")
    register(harness, pair)
    huge = pair.token("u1", padding="x" * 64_000)
    response = harness.identify(user_jwt=huge)
    # Larger than any identify body: refused as it arrives, before any JSON parsing.
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large", response.text
    large = pair.token("u1", padding="x" * 20_000)  # fits the body, not the token cap
    response = harness.identify(user_jwt=large)
    assert response.status_code == 401
    [entry] = harness.log()
    assert entry["code"] == "token_malformed"
    assert "at most 8192" in entry["hint"]


# Bad keys: refused with a clear error, nothing stored ----------------------------------


def test_a_private_jwk_is_refused() -> None:
    for alg in ALGORITHMS:
        with pytest.raises(InvalidPublicKey, match="private key material"):
            parse_jwk(new_pair(alg).private_jwk())


def test_a_private_pem_is_refused() -> None:
    from cryptography.hazmat.primitives import serialization

    private = new_pair("EdDSA").private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(InvalidPublicKey, match="private key"):
        parse_pem(private.decode(), kid="k1")


def test_small_rsa_and_wrong_curves_are_refused() -> None:
    small = KeyPair(
        "RS256", "small", rsa.generate_private_key(public_exponent=65537, key_size=1024)
    )
    with pytest.raises(InvalidPublicKey, match="2048"):
        parse_jwk(small.public_jwk())
    with pytest.raises(InvalidPublicKey, match="2048"):
        parse_pem(small.public_pem(), kid="small")
    p384 = KeyPair("ES256", "p384", ec.generate_private_key(ec.SECP384R1()))
    labelled = {**KeyPair("ES256", "x", p384.private).public_jwk(), "alg": "ES256"}
    with pytest.raises(InvalidPublicKey, match="P-256"):
        parse_jwk(labelled)
    with pytest.raises(InvalidPublicKey, match="P-256"):
        parse_pem(p384.public_pem(), kid="p384")
    with pytest.raises(InvalidPublicKey, match="alg"):
        parse_jwk(new_pair("EdDSA").public_jwk(alg="RS256"))


@pytest.mark.parametrize(
    "kid", ["../../etc/passwd", "a/b", "", "x" * 65, "k\x00", "kid with space"]
)
def test_a_kid_with_path_characters_is_refused(kid: str) -> None:
    with pytest.raises(InvalidPublicKey, match="kid"):
        parse_jwk(new_pair("EdDSA").public_jwk(kid=kid))


def test_oversized_jwks_documents_are_refused() -> None:
    pair = new_pair("EdDSA")
    with pytest.raises(InvalidPublicKey, match="bytes"):
        parse_jwks(b'{"keys": [' + b" " * 5_000_000 + b"]}")
    many = json.dumps({"keys": [{**pair.public_jwk(), "kid": f"k{i}"} for i in range(10_000)]})
    with pytest.raises(InvalidPublicKey):
        parse_jwks(many)
    few = json.dumps({"keys": [{**pair.public_jwk(), "kid": f"k{i}"} for i in range(101)]})
    with pytest.raises(InvalidPublicKey, match="at most 100"):
        parse_jwks(few)
    assert [key.kid for key in parse_jwks(jwks(pair))] == [pair.kid]


def test_a_duplicate_active_kid_is_refused(harness: Harness) -> None:
    pair = new_pair("EdDSA")
    register(harness, pair)
    with pytest.raises(public_keys.PublicKeyConflict):
        register(harness, new_pair("ES256", pair.kid))


def test_a_jwks_skips_keys_it_cannot_verify_but_refuses_private_ones() -> None:
    good = new_pair("ES256", "good")
    p384 = KeyPair("ES256", "p384", ec.generate_private_key(ec.SECP384R1()))
    small = KeyPair(
        "RS256", "small", rsa.generate_private_key(public_exponent=65537, key_size=1024)
    )
    document = json.dumps(
        {
            "keys": [
                good.public_jwk(),
                {**p384.public_jwk(), "alg": "ES256"},  # a P-384 key labelled ES256
                small.public_jwk(),
                {**new_pair("EdDSA").public_jwk(), "use": "enc"},
                {k: v for k, v in new_pair("EdDSA").public_jwk().items() if k != "kid"},
            ]
        }
    )
    assert [key.kid for key in parse_jwks(document)] == ["good"]
    leaked = json.dumps({"keys": [good.public_jwk(), new_pair("EdDSA").private_jwk()]})
    with pytest.raises(InvalidPublicKey, match="private"):
        parse_jwks(leaked)
