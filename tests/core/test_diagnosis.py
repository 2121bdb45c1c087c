"""Every diagnosis code, each produced the way an integrator really gets it wrong."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from countersign import FAILURE_CODES, KeyRing, RingKey, Secret, diagnose, sign

SECRET = "cs_live_4f7d9a2b8c1e6f3a0d5b9c7e2a4f8d1b"
APP_ID = "app_7Hq2LmN9xK"
USER_ID = "user-1234"
EMAIL = "Jane.Doe@Example.com"


def hmac_hex(key: str | bytes, message: str) -> str:
    raw_key = key.encode() if isinstance(key, str) else key
    return hmac.new(raw_key, message.encode(), hashlib.sha256).hexdigest()


MISTAKES = [
    pytest.param(USER_ID, None, {}, "missing_signature", id="forgot-to-send-the-hash"),
    pytest.param(USER_ID, "", {}, "missing_signature", id="empty-hash"),
    pytest.param(USER_ID, USER_ID, {}, "signature_is_identifier", id="sent-the-id-as-hash"),
    pytest.param(
        USER_ID,
        hashlib.sha1(USER_ID.encode()).hexdigest(),
        {},
        "malformed_signature",
        id="sha1-hex",
    ),
    pytest.param(
        USER_ID,
        hmac.new(SECRET.encode(), USER_ID.encode(), "sha512").hexdigest(),
        {},
        "malformed_signature",
        id="hmac-sha512",
    ),
    pytest.param(
        USER_ID,
        base64.b64encode(hmac_hex(SECRET, USER_ID).encode()).decode(),
        {},
        "malformed_signature",
        id="base64-of-hexdigest",
    ),
    pytest.param(
        USER_ID, hmac_hex(SECRET, USER_ID) + "\n", {}, "malformed_signature", id="newline-on-hash"
    ),
    pytest.param(
        USER_ID,
        hmac_hex("cs_live_old_secret_0000000000000000", USER_ID),
        {"revoked_secrets": ["cs_live_old_secret_0000000000000000"]},
        "revoked_secret",
        id="backend-still-on-old-secret",
    ),
    pytest.param(
        USER_ID, hmac_hex(SECRET + "\n", USER_ID), {}, "secret_whitespace", id="secret-from-echo"
    ),
    pytest.param(
        USER_ID,
        hmac_hex(SECRET + " ", USER_ID),
        {},
        "secret_whitespace",
        id="secret-trailing-space",
    ),
    pytest.param(
        EMAIL, hmac_hex(SECRET, EMAIL.lower()), {}, "identifier_case", id="lowercased-email"
    ),
    pytest.param("abc-DEF", hmac_hex(SECRET, "ABC-DEF"), {}, "identifier_case", id="uppercased-id"),
    pytest.param(
        USER_ID, hmac_hex(SECRET, USER_ID + "\n"), {}, "identifier_whitespace", id="id-with-newline"
    ),
    pytest.param(
        " " + USER_ID, hmac_hex(SECRET, USER_ID), {}, "identifier_whitespace", id="widget-got-space"
    ),
    pytest.param(
        USER_ID,
        hmac_hex(SECRET, EMAIL),
        {"other_identifier": EMAIL},
        "other_identifier",
        id="signed-email-not-user-id",
    ),
    pytest.param(
        USER_ID,
        hmac_hex(APP_ID, USER_ID),
        {"app_id": APP_ID},
        "public_key_used",
        id="app-id-as-key",
    ),
    pytest.param(
        USER_ID, hashlib.sha256(USER_ID.encode()).hexdigest(), {}, "plain_hash", id="sha256-of-id"
    ),
    pytest.param(
        USER_ID,
        hashlib.sha256((SECRET + USER_ID).encode()).hexdigest(),
        {},
        "plain_hash",
        id="sha256-secret-plus-id",
    ),
    pytest.param(
        USER_ID,
        hashlib.sha256((USER_ID + SECRET).encode()).hexdigest(),
        {},
        "plain_hash",
        id="sha256-id-plus-secret",
    ),
    pytest.param(USER_ID, "0" * 64, {}, "unknown", id="wrong-secret-entirely"),
]


@pytest.mark.parametrize(("identifier", "signature", "context", "code"), MISTAKES)
def test_each_mistake_is_diagnosed(
    identifier: str, signature: str | None, context: dict[str, object], code: str
) -> None:
    result = diagnose(SECRET, identifier, signature, **context)  # type: ignore[arg-type]
    assert result.code == code, result.hint
    assert not result.ok
    assert SECRET not in result.hint
    assert hmac_hex(SECRET, identifier) not in result.hint


def test_hex_decoded_secret() -> None:
    hex_secret = "8f3a" * 16  # a secret that happens to be hex, as some dashboards show them
    signature = hmac.new(bytes.fromhex(hex_secret), USER_ID.encode(), "sha256").hexdigest()
    assert diagnose(hex_secret, USER_ID, signature).code == "hex_decoded_secret"


def test_every_failure_code_is_covered() -> None:
    covered = {param.values[3] for param in MISTAKES} | {"hex_decoded_secret"}
    assert covered == set(FAILURE_CODES)


def test_valid_signature_is_ok_and_names_the_secret() -> None:
    ring = KeyRing([RingKey("sec_old", Secret("o" * 32)), RingKey("sec_new", Secret(SECRET))])
    result = ring.diagnose(USER_ID, sign(SECRET, USER_ID))
    assert result.ok
    assert result.secret_id == "sec_new"


def test_revoked_diagnosis_names_the_revoked_secret() -> None:
    ring = KeyRing([SECRET], revoked=[RingKey("sec_2023", Secret("r" * 32))])
    assert ring.diagnose(USER_ID, sign("r" * 32, USER_ID)).secret_id == "sec_2023"


def test_precedence_follows_the_spec_order() -> None:
    # HMAC of the lowercased identifier with a whitespace-padded secret: the secret
    # mistake comes first in the table, but neither variant alone reproduces it.
    both = hmac_hex(SECRET + "\n", EMAIL.lower())
    assert diagnose(SECRET, EMAIL, both).code == "unknown"
    # The identifier sent as the hash wins over "malformed".
    assert diagnose(SECRET, "short", "short").code == "signature_is_identifier"


@pytest.mark.parametrize(
    ("signature", "phrase"),
    [
        ("a" * 40, "SHA-1"),
        ("a" * 128, "SHA-512"),
        ("a" * 32, "MD5 or a truncated tag"),
        (12345, "must be a string"),
        ("é" * 64, "non-ASCII"),
    ],
)
def test_malformed_hints_name_what_it_looks_like(signature: object, phrase: str) -> None:
    result = diagnose(SECRET, USER_ID, signature)
    assert result.code == "malformed_signature"
    assert phrase in result.hint


def test_diagnose_never_raises_on_junk() -> None:
    for junk in (None, 1, [], {}, "\ud800", "x" * 10_000, b"\x00" * 32):
        assert diagnose(SECRET, USER_ID, junk).code in FAILURE_CODES
    assert diagnose(SECRET, "\ud800", "0" * 64).code == "unknown"
