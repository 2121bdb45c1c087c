"""sign() and verify(): RFC 4231, every accepted encoding, and what is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from countersign import Secret, sign, verify
from countersign.core import InvalidIdentifier, InvalidSecret, PreparedKey, verify_message

# RFC 4231 section 4: (key, data, full HMAC-SHA256). Case 5 is published as a 128-bit
# truncation; its full tag is listed here and the truncated one is tested separately.
RFC_4231 = [
    pytest.param(
        b"\x0b" * 20,
        b"Hi There",
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        id="case1",
    ),
    pytest.param(
        b"Jefe",
        b"what do ya want for nothing?",
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        id="case2",
    ),
    pytest.param(
        b"\xaa" * 20,
        b"\xdd" * 50,
        "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
        id="case3",
    ),
    pytest.param(
        bytes(range(1, 26)),
        b"\xcd" * 50,
        "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
        id="case4",
    ),
    pytest.param(
        b"\x0c" * 20,
        b"Test With Truncation",
        "a3b6167473100ee06e0c796c2955552bfa6f7c0a6a8aef8b93f860aab0cd20c5",
        id="case5",
    ),
    pytest.param(
        b"\xaa" * 131,
        b"Test Using Larger Than Block-Size Key - Hash Key First",
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        id="case6",
    ),
    pytest.param(
        b"\xaa" * 131,
        b"This is a test using a larger than block-size key and a larger than block-size "
        b"data. The key needs to be hashed before being used by the HMAC algorithm.",
        "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
        id="case7",
    ),
]


@pytest.mark.parametrize(("key", "data", "tag"), RFC_4231)
def test_rfc4231_vectors_verify(key: bytes, data: bytes, tag: str) -> None:
    assert verify_message(key, data, tag)
    assert verify_message(key, data, tag.upper())
    assert PreparedKey(key).mac(data).hex() == tag


def test_rfc4231_case5_truncated_tag_is_refused() -> None:
    assert not verify_message(
        b"\x0c" * 20, b"Test With Truncation", "a3b6167473100ee06e0c796c2955552b"
    )


def test_sign_matches_spec_known_value() -> None:
    expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    assert sign("Jefe", "what do ya want for nothing?") == expected


def test_integer_identifier_is_its_decimal_string() -> None:
    assert sign("s" * 32, 1234) == sign("s" * 32, "1234")
    assert verify("s" * 32, 1234, sign("s" * 32, "1234"))


def test_secret_is_used_as_typed_never_decoded() -> None:
    hex_looking = "00112233445566778899aabbccddeeff"
    expected = hmac.new(hex_looking.encode(), b"u1", hashlib.sha256).hexdigest()
    assert sign(hex_looking, "u1") == expected


def test_identifier_is_signed_byte_for_byte() -> None:
    secret = "k" * 32
    assert sign(secret, " Zoë ") == hmac.new(b"k" * 32, " Zoë ".encode(), "sha256").hexdigest()
    assert sign(secret, "Zoë") != sign(secret, "Zoe\u0308")  # no Unicode normalisation


@pytest.mark.parametrize("encoding", ["hex", "base64", "base64url"])
def test_every_encoding_round_trips(encoding: str) -> None:
    signature = sign("k" * 32, "user@example.com", encoding=encoding)  # type: ignore[arg-type]
    assert verify("k" * 32, "user@example.com", signature)


def test_rotation_any_active_secret_verifies() -> None:
    old, new = "old-" * 8, "new-" * 8
    assert verify([old, new], "u1", sign(old, "u1"))
    assert verify([old, new], "u1", sign(new, "u1"))
    assert not verify([new], "u1", sign(old, "u1"))


@pytest.mark.parametrize(
    "bad",
    [
        None,
        123,
        1.5,
        True,
        ["a"],
        {"a": 1},
        b"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        "",
        "é" * 64,
        "５" * 64,  # full-width digits: isdigit() but not ASCII
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec384",  # 63
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec38433",  # 65
        " 5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec384",
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843\n",
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" * 100,
        "\ud800" * 64,  # lone surrogates
        "g" * 64,
    ],
)
def test_malformed_signatures_are_false_never_errors(bad: object) -> None:
    assert verify("Jefe", "what do ya want for nothing?", bad) is False


def test_base64_strictness() -> None:
    mac = hmac.digest(b"Jefe", b"what do ya want for nothing?", "sha256")
    padded = base64.b64encode(mac).decode()
    url = base64.urlsafe_b64encode(mac).decode()
    for accepted in (padded, padded.rstrip("="), url, url.rstrip("=")):
        assert verify("Jefe", "what do ya want for nothing?", accepted), accepted
    # A non-zero spare bit spells the same bytes in a second way: refused.
    last = padded[42]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    sloppy = padded[:42] + alphabet[alphabet.index(last) | 1] + "="
    if sloppy != padded:
        assert not verify("Jefe", "what do ya want for nothing?", sloppy)
    assert not verify("Jefe", "what do ya want for nothing?", padded[:20] + " " + padded[21:])
    assert not verify("Jefe", "what do ya want for nothing?", padded + "=")


@pytest.mark.parametrize("identifier", ["", "x" * 256, "a\x00b", "a\nb", True, None, 1.0, [1]])
def test_refused_identifiers(identifier: object) -> None:
    assert verify("k" * 32, identifier, "0" * 64) is False
    with pytest.raises(InvalidIdentifier):
        sign("k" * 32, identifier)  # type: ignore[arg-type]


def test_identifier_of_255_characters_is_accepted() -> None:
    assert verify("k" * 32, "x" * 255, sign("k" * 32, "x" * 255))


def test_lone_surrogate_identifier_is_refused() -> None:
    with pytest.raises(InvalidIdentifier):
        sign("k" * 32, "user\ud800")


@pytest.mark.parametrize("secret", ["", b"", None, 42])
def test_unusable_secrets_raise(secret: object) -> None:
    with pytest.raises(InvalidSecret):
        sign(secret, "u1")  # type: ignore[arg-type]


def test_secret_never_shows_itself() -> None:
    secret = Secret("hunter2-hunter2-hunter2")
    assert "hunter2" not in repr(secret)
    assert "hunter2" not in str(secret)
    assert "hunter2" not in f"{secret!r} {[secret]} { ({'s': secret}) }"


_keys = st.binary(min_size=1, max_size=200)
_identifiers = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=255
)


@given(key=_keys, identifier=_identifiers, encoding=st.sampled_from(["hex", "base64", "base64url"]))
def test_property_every_encoding_of_the_right_mac_verifies(
    key: bytes, identifier: str, encoding: str
) -> None:
    signature = sign(key, identifier, encoding=encoding)  # type: ignore[arg-type]
    assert verify(key, identifier, signature)
    if encoding == "hex":
        assert verify(key, identifier, signature.upper())
    if encoding != "hex":
        assert verify(key, identifier, signature.rstrip("="))


@given(key=_keys, identifier=_identifiers, bit=st.integers(min_value=0, max_value=255))
def test_property_flipping_any_bit_fails(key: bytes, identifier: str, bit: int) -> None:
    mac = bytearray(hmac.digest(key, identifier.encode(), "sha256"))
    mac[bit // 8] ^= 1 << (bit % 8)
    assert not verify(key, identifier, mac.hex())
    assert not verify(key, identifier, base64.b64encode(mac).decode())


@given(junk=st.one_of(st.text(), st.binary(), st.integers(), st.none(), st.floats()))
def test_property_random_junk_never_raises(junk: object) -> None:
    assert verify("k" * 32, "u1", junk) is False
    assert verify("k" * 32, junk, "0" * 64) is False


@given(key=st.binary(min_size=1, max_size=300), message=st.binary(max_size=300))
def test_property_prepared_key_equals_standard_hmac(key: bytes, message: bytes) -> None:
    assert PreparedKey(key).mac(message) == hmac.digest(key, message, "sha256")
