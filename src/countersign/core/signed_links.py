"""Links that carry their own permission: a MAC over what they name and until when.

A webhook receiver has no widget session and no dashboard login; it gets a link to an
attachment that works until ``expires`` (Unix seconds) for that one attachment and
nothing else. The key is derived from the master key for this purpose alone."""

from __future__ import annotations

from typing import Final

from .compare import macs_equal
from .encoding import b64url, unb64url
from .mac import hmac_sha256

KEY_PURPOSE: Final = "countersign attachment links v1"


def _message(subject: str, expires: int) -> bytes:
    return f"{subject}\n{expires}".encode()


def link_signature(key: bytes, subject: str, expires: int) -> str:
    return b64url(hmac_sha256(key, _message(subject, expires)))


def link_valid(key: bytes, subject: str, expires: int, signature: str, now: float) -> bool:
    """Whether ``signature`` is this key's for ``subject`` until ``expires``, and it
    has not passed."""
    if expires < now or len(signature) > 64:
        return False
    try:
        presented = unb64url(signature)
    except ValueError:
        return False
    return macs_equal(presented, hmac_sha256(key, _message(subject, expires)))
