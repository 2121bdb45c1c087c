"""``countersign.webhooks.sign`` / ``verify``: what a receiver relies on to refuse
forged and replayed deliveries."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from countersign.webhooks import (
    SIGNATURE_HEADER,
    WebhookVerificationError,
    new_signing_secret,
    sign,
    verify,
)

SECRET = "whsec_test-secret-0123456789abcdefghijklmnop"
BODY = b'{"id":"evt_1","type":"message.created","data":{"body":"hello"}}'
NOW = 1_700_000_000


def _code(
    body: bytes | str, header: str | None, secret: str | list[str] = SECRET, **kw: float
) -> str:
    with pytest.raises(WebhookVerificationError) as caught:
        verify(body, header, secret, now=kw.pop("now", NOW), **kw)
    return caught.value.code


def test_the_header_is_documented_hmac_of_timestamp_dot_body() -> None:
    header = sign(BODY, SECRET, timestamp=NOW)
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert header == f"t={NOW},v1={expected}"
    assert verify(BODY, header, SECRET, now=NOW) == NOW
    assert SIGNATURE_HEADER == "X-Countersign-Signature"


def test_a_tampered_body_is_refused() -> None:
    header = sign(BODY, SECRET, timestamp=NOW)
    assert _code(BODY.replace(b"hello", b"hellp"), header) == "signature_mismatch"
    assert _code(BODY + b" ", header) == "signature_mismatch"
    assert _code(b"", header) == "signature_mismatch"


def test_a_wrong_secret_is_refused() -> None:
    header = sign(BODY, SECRET, timestamp=NOW)
    assert _code(BODY, header, secret=SECRET + "x") == "signature_mismatch"


def test_a_moved_timestamp_breaks_the_signature() -> None:
    # An attacker replaying an old delivery cannot just put a fresh t= on it.
    old = sign(BODY, SECRET, timestamp=NOW - 3600)
    forged = old.replace(f"t={NOW - 3600}", f"t={NOW}")
    assert _code(BODY, forged) == "signature_mismatch"


@pytest.mark.parametrize("offset", [-301, 301, -86_400, 10**9])
def test_old_and_future_timestamps_are_refused(offset: int) -> None:
    header = sign(BODY, SECRET, timestamp=NOW + offset)
    assert _code(BODY, header) == "timestamp_outside_tolerance"


@pytest.mark.parametrize("offset", [-300, -1, 0, 1, 300])
def test_timestamps_within_tolerance_pass(offset: int) -> None:
    assert verify(BODY, sign(BODY, SECRET, timestamp=NOW + offset), SECRET, now=NOW)


def test_the_tolerance_is_the_callers() -> None:
    header = sign(BODY, SECRET, timestamp=NOW - 60)
    assert _code(BODY, header, tolerance=30) == "timestamp_outside_tolerance"
    assert verify(BODY, header, SECRET, now=NOW, tolerance=90) == NOW - 60


def test_rotation_any_of_several_secrets_verifies() -> None:
    new = new_signing_secret()
    # Countersign signing with both during a rotation: either receiver config passes.
    both = sign(BODY, [new, SECRET], timestamp=NOW)
    assert both.count("v1=") == 2
    assert verify(BODY, both, SECRET, now=NOW) == NOW
    assert verify(BODY, both, new, now=NOW) == NOW
    # A receiver that knows both secrets accepts a delivery signed by either.
    for used in (SECRET, new):
        assert verify(BODY, sign(BODY, used, timestamp=NOW), [SECRET, new], now=NOW) == NOW
    other = sign(BODY, "whsec_other", timestamp=NOW)
    assert _code(BODY, other, [SECRET, new]) == "signature_mismatch"


def test_unknown_schemes_are_ignored() -> None:
    header = sign(BODY, SECRET, timestamp=NOW) + ",v2=abcdef"
    assert verify(BODY, header, SECRET, now=NOW) == NOW


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "garbage",
        "t=,v1=00",
        f"t={NOW}",
        "v1=" + "00" * 32,
        f"t={NOW},t={NOW},v1=" + "00" * 32,
        f"t=-{NOW},v1=" + "00" * 32,
        "t=1e9,v1=" + "00" * 32,
        f"t={NOW},v1=zz",
        f"t={NOW},v1=" + "00" * 31,
        f"t={NOW},v1=" + "é" * 64,
        "t=\u0661\u0662,v1=" + "00" * 32,  # non-ASCII digits
        "t=1,v1",
    ],
)
def test_malformed_headers_are_refused_not_crashed_on(header: str | None) -> None:
    assert _code(BODY, header) == "malformed_header"


def test_non_ascii_bodies_are_signed_as_their_utf8_bytes() -> None:
    text = '{"body":"Grüße, 用户 🦊"}'
    header = sign(text, SECRET, timestamp=NOW)
    assert verify(text.encode("utf-8"), header, SECRET, now=NOW) == NOW
    assert verify(text, header, SECRET, now=NOW) == NOW
    assert _code(text.encode("utf-16"), header) == "signature_mismatch"


def test_non_ascii_secrets_are_used_as_utf8() -> None:
    secret = "whsec_clé-secrète"
    header = sign(BODY, secret, timestamp=NOW)
    mac = hmac.new(secret.encode("utf-8"), f"{NOW}.".encode() + BODY, hashlib.sha256)
    assert header.endswith(mac.hexdigest())
    assert verify(BODY, header, secret, now=NOW) == NOW


def test_new_signing_secrets_are_prefixed_and_distinct() -> None:
    secrets = {new_signing_secret() for _ in range(50)}
    assert len(secrets) == 50
    assert all(secret.startswith("whsec_") and len(secret) >= 40 for secret in secrets)


def test_signing_needs_a_secret() -> None:
    with pytest.raises(ValueError, match="at least one"):
        sign(BODY, [], timestamp=NOW)
