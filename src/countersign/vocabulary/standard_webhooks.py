"""The Standard Webhooks signature format (standardwebhooks.com), for receivers that
already verify it with one of that project's libraries.

An endpoint added with ``--format standard`` gets a ``whsec_<base64>`` secret (the
key is the base64-decoded part) and every delivery carries::

    webhook-id: <event id>            the same on every attempt, for dedup
    webhook-timestamp: <unix seconds>
    webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">

Several signatures, separated by spaces, verify during a rotation. The MAC is the
core's one construction (``core/mac.py``); this module only frames it.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from typing import Final

from ..core.mac import hmac_sha256

FORMATS: Final = ("countersign", "standard")
STANDARD_PREFIX: Final = "whsec_"
ID_HEADER: Final = "webhook-id"
TIMESTAMP_HEADER: Final = "webhook-timestamp"
SIGNATURE_HEADER: Final = "webhook-signature"
KEY_BYTES: Final = 32
MIN_KEY_BYTES: Final = 16  # what a receiver's key must at least be to be worth a MAC


def new_standard_secret() -> str:
    return STANDARD_PREFIX + base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def standard_key(secret: str) -> bytes:
    """The key bytes of a ``whsec_<base64>`` secret; ValueError when it is not one."""
    if not secret.startswith(STANDARD_PREFIX):
        raise ValueError("a Standard Webhooks secret starts with whsec_")
    try:
        key = base64.b64decode(secret.removeprefix(STANDARD_PREFIX), validate=True)
    except binascii.Error:
        raise ValueError("a Standard Webhooks secret is whsec_ and base64") from None
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"a Standard Webhooks secret is whsec_ and {MIN_KEY_BYTES}+ bytes")
    return key


def standard_headers(message_id: str, timestamp: int, body: bytes, secret: str) -> dict[str, str]:
    signed = f"{message_id}.{timestamp}.".encode() + body
    mac = base64.b64encode(hmac_sha256(standard_key(secret), signed)).decode("ascii")
    return {
        ID_HEADER: message_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: f"v1,{mac}",
    }
