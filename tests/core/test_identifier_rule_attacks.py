"""The identifier rule and identity tokens against text no database can store.

JSON spells a lone surrogate (``"\\ud800"``) and NUL as escapes. A signed token's
claims are decoded from JSON, so they can carry both into a contact's identifiers,
name and attributes: the core refuses them, where before a write failed (a 500).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest

from countersign import KeyRing, RingKey, Secret, verify_identity_token
from countersign.core import InvalidIdentifier, TokenClaimInvalid, identifier_text

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
SECRET = "attack-secret-0123456789abcdef0123456789"
RING = KeyRing([RingKey("sec_attack", Secret(SECRET))])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed(payload: str) -> str:
    """An HS256 token of RING over ``payload``, JSON text written by hand."""
    header = _b64(json.dumps({"alg": "HS256", "kid": "sec_attack"}).encode())
    body = _b64(payload.encode())
    mac = hmac.digest(SECRET.encode(), f"{header}.{body}".encode(), hashlib.sha256)
    return f"{header}.{body}.{_b64(mac)}"


EXP = int(NOW.timestamp()) + 600


@pytest.mark.parametrize("text", ["user\ud800", "\udfff", "a\udbff\udbffb"])
def test_identifier_text_refuses_a_lone_surrogate(text: str) -> None:
    # Was: accepted, and only identifier_bytes refused it, so a token's sub reached
    # the database as text no driver can encode.
    with pytest.raises(InvalidIdentifier, match="Unicode"):
        identifier_text(text)


def test_identifier_text_still_accepts_printable_and_format_characters() -> None:
    for text in ("user-1234", "Zoë", "a\u00a0b", "a\u200bb", "😀"):
        assert identifier_text(text) == text


@pytest.mark.parametrize(
    "claims",
    [
        r'"sub": "user\ud800"',
        r'"sub": "ok", "email": "\udc00@example.com"',
        r'"sub": "ok", "name": "Ada \udbff"',
        r'"sub": "ok", "plan": {"tier": ["\ud800"]}',
        r'"sub": "ok", "\ud800": 1',
        r'"sub": "ok", "name": "Ada\u0000Lovelace"',
        r'"sub": "ok", "plan": {"a\u0000": 1}',
    ],
)
def test_a_token_whose_claims_hold_unstorable_text_is_refused(claims: str) -> None:
    with pytest.raises(TokenClaimInvalid) as refused:
        verify_identity_token(signed(f'{{{claims}, "exp": {EXP}}}'), RING, now=NOW)
    assert str(refused.value).isprintable()  # the hint names the claim safely
