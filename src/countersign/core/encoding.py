"""The accepted text forms of a 32-byte MAC, and the one strict decoder for them.

Accepted (SPEC section 2): hex of 64 characters in either case, base64 with or without
padding, base64url with or without padding. Nothing else: no whitespace, no other
length, no mixed alphabets, no non-canonical trailing bits. Decoding never raises;
anything outside those forms is ``None``, which every caller treats as "invalid".
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Final, Literal

from .exc import InvalidEncoding

MAC_SIZE: Final = 32
_HEX_CHARS: Final = 2 * MAC_SIZE  # 64
_B64_PADDED: Final = 44
_B64_UNPADDED: Final = 43

Encoding = Literal["hex", "base64", "base64url"]
ENCODINGS: Final[tuple[Encoding, ...]] = ("hex", "base64", "base64url")

_BASE64_STD = re.compile(r"[A-Za-z0-9+/]{43}=?")
_BASE64_URL = re.compile(r"[A-Za-z0-9_-]{43}=?")
_URL_TO_STD = str.maketrans("-_", "+/")
_SEXTET: Final = {
    char: value
    for value, char in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
} | {"-": 62, "_": 63}


def b64url(raw: bytes) -> str:
    """Unpadded base64url, as JWTs and URL-safe tokens write it."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    """:func:`b64url` read back, padded or not. Lenient as :mod:`base64` is (raises
    ``ValueError`` or ``binascii.Error``), so only for text whose integrity is checked
    otherwise (a MAC, a cursor's own checks): a presented signature goes through the
    strict :func:`decode_signature`."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_mac(mac: bytes, encoding: Encoding = "hex") -> str:
    """Text form of ``mac``: lowercase hex, padded base64, or unpadded base64url.

    base64url drops its padding as JWTs and most URL-safe tokens do; every form is
    accepted back by :func:`decode_signature` with or without padding.
    """
    if encoding == "hex":
        return mac.hex()
    if encoding == "base64":
        return base64.b64encode(mac).decode("ascii")
    if encoding == "base64url":
        return b64url(mac)
    raise InvalidEncoding(f"unknown encoding {encoding!r}; use one of {', '.join(ENCODINGS)}")


def decode_signature(signature: object) -> bytes | None:
    """The 32 MAC bytes that ``signature`` spells, or ``None`` if it spells none.

    The length picks the form, so each form has exactly one way in.
    """
    if not isinstance(signature, str) or not signature.isascii():
        return None
    length = len(signature)
    if length == _HEX_CHARS:
        try:
            # unhexlify, unlike bytes.fromhex, refuses whitespace.
            return binascii.unhexlify(signature)
        except binascii.Error:
            return None
    if length in (_B64_PADDED, _B64_UNPADDED):
        return _decode_base64(signature)
    return None


def _decode_base64(signature: str) -> bytes | None:
    # One alphabet per string (never a mix), an optional single "=" of padding.
    if _BASE64_STD.fullmatch(signature):
        text = signature
    elif _BASE64_URL.fullmatch(signature):
        text = signature.translate(_URL_TO_STD)
    else:
        return None
    # 43 characters carry 258 bits: the two spare bits of the last one must be zero,
    # or several strings would spell the same MAC.
    if _SEXTET[text[42]] & 0b11:
        return None
    return binascii.a2b_base64(text if len(text) == _B64_PADDED else text + "=")
