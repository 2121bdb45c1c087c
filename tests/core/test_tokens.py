"""Identity tokens: HS256 JWTs whose claims become verified attributes."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from countersign import KeyRing, RingKey, Secret, issue_identity_token, verify_identity_token
from countersign.core import (
    TokenAlgMismatch,
    TokenClaimInvalid,
    TokenExpired,
    TokenMalformed,
    TokenNotYetValid,
    TokenSignatureInvalid,
    TokenUnknownKey,
)

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
RING = KeyRing(
    [
        RingKey("sec_old", Secret("old-secret-0123456789abcdef0123456789")),
        RingKey("sec_new", Secret("new-secret-0123456789abcdef0123456789")),
    ]
)


def token(claims: dict[str, object], *, kid: str | None = "sec_new", key: str | None = None) -> str:
    secret = key or RING.get(kid or "sec_new").secret.reveal().decode()  # type: ignore[union-attr]
    headers = {"kid": kid} if kid else {}
    return jwt.encode(claims, secret, algorithm="HS256", headers=headers)


def exp(delta: timedelta) -> int:
    return int((NOW + delta).timestamp())


def test_issued_token_verifies_with_claims_as_attributes() -> None:
    issued = issue_identity_token(
        RING, user_id=1234, email="a@b.co", claims={"name": "Ada", "plan": "pro"}, now=NOW
    )
    claims = verify_identity_token(issued, RING, now=NOW + timedelta(minutes=5))
    assert claims.user_id == "1234"
    assert claims.email == "a@b.co"
    assert claims.attributes == {"name": "Ada", "plan": "pro"}
    assert claims.key_id == "sec_new"
    assert claims.expires_at == NOW + timedelta(hours=1)


def test_older_active_key_still_verifies_by_kid() -> None:
    issued = token({"sub": "u1", "exp": exp(timedelta(minutes=10))}, kid="sec_old")
    assert verify_identity_token(issued, RING, now=NOW).key_id == "sec_old"


def test_token_without_kid_is_tried_against_every_key() -> None:
    issued = token({"sub": "u1", "exp": exp(timedelta(minutes=10))}, kid=None, key=None)
    assert verify_identity_token(issued, RING, now=NOW).user_id == "u1"


@pytest.mark.parametrize(
    ("claims", "error"),
    [
        ({"sub": "u1", "exp": exp(timedelta(minutes=-2))}, TokenExpired),
        ({"sub": "u1"}, TokenClaimInvalid),
        ({"sub": "u1", "exp": "tomorrow"}, TokenClaimInvalid),
        (
            {"sub": "u1", "exp": exp(timedelta(hours=1)), "nbf": exp(timedelta(minutes=3))},
            TokenNotYetValid,
        ),
        (
            {"sub": "u1", "exp": exp(timedelta(hours=1)), "iat": exp(timedelta(minutes=3))},
            TokenNotYetValid,
        ),
        ({"exp": exp(timedelta(hours=1))}, TokenClaimInvalid),
        ({"sub": "a\x00b", "exp": exp(timedelta(hours=1))}, TokenClaimInvalid),
    ],
)
def test_refused_claims(claims: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        verify_identity_token(token(claims), RING, now=NOW)


def test_clock_skew_within_leeway_is_accepted() -> None:
    issued = token({"sub": "u1", "exp": exp(timedelta(seconds=-30))})
    assert verify_identity_token(issued, RING, now=NOW).user_id == "u1"
    with pytest.raises(TokenExpired):
        verify_identity_token(issued, RING, now=NOW, leeway=timedelta(seconds=10))
    with pytest.raises(ValueError, match="leeway"):
        verify_identity_token(issued, RING, now=NOW, leeway=timedelta(hours=1))


def test_wrong_key_and_unknown_kid() -> None:
    forged = token(
        {"sub": "u1", "exp": exp(timedelta(hours=1))}, key="attacker-key-0123456789abcdef012"
    )
    with pytest.raises(TokenSignatureInvalid):
        verify_identity_token(forged, RING, now=NOW)
    with pytest.raises(TokenUnknownKey):
        verify_identity_token(
            token({"sub": "u1", "exp": exp(timedelta(hours=1))}, kid="sec_gone", key="x" * 32),
            RING,
            now=NOW,
        )


def _b64(document: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).rstrip(b"=").decode()


def test_alg_none_is_refused() -> None:
    unsigned = f"{_b64({'alg': 'none', 'kid': 'sec_new'})}.{_b64({'sub': 'u1', 'exp': exp(timedelta(hours=1))})}."
    with pytest.raises(TokenAlgMismatch):  # SPEC 15: no key verifies alg none
        verify_identity_token(unsigned, RING, now=NOW)


def test_other_hmac_algorithms_are_refused() -> None:
    secret = "k" * 64  # long enough that PyJWT does not warn for HS512
    ring = KeyRing([RingKey("sec_long", Secret(secret))])
    hs512 = jwt.encode(
        {"sub": "u1", "exp": exp(timedelta(hours=1))},
        secret,
        algorithm="HS512",
        headers={"kid": "sec_long"},
    )
    with pytest.raises(TokenAlgMismatch):  # SPEC 15: a secret verifies only HS256
        verify_identity_token(hs512, ring, now=NOW)


@pytest.mark.parametrize("junk", [None, 12, "", "a.b.c", "x" * 9000, "\ud800.\ud800.\ud800"])
def test_junk_tokens_are_malformed(junk: object) -> None:
    with pytest.raises(TokenMalformed):
        verify_identity_token(junk, RING, now=NOW)


def test_max_lifetime_and_audience() -> None:
    long_lived = issue_identity_token(RING, user_id="u1", expires_in=timedelta(days=365), now=NOW)
    with pytest.raises(TokenClaimInvalid):
        verify_identity_token(long_lived, RING, now=NOW, max_lifetime=timedelta(days=1))
    for_other_app = token({"sub": "u1", "exp": exp(timedelta(hours=1)), "aud": "app_other"})
    with pytest.raises(TokenClaimInvalid):
        verify_identity_token(for_other_app, RING, now=NOW, audience="app_mine")
    assert verify_identity_token(for_other_app, RING, now=NOW, audience="app_other").user_id == "u1"


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        issue_identity_token(RING, user_id="u1", now=datetime(2026, 1, 1))
