"""Signed deliveries: the ``X-Countersign-Signature`` header and its check.

Every request Countersign sends to a customer's system (a webhook delivery, a custom
action call) carries ``X-Countersign-Signature: t=<unix time>,v1=<hex MAC>``, where the
MAC is HMAC-SHA256 under the endpoint's signing secret (its UTF-8 bytes, as shown) of
``"<t>.<raw body>"``. Signing the time with the body lets a receiver refuse a replay of
an old delivery: :func:`verify` accepts a header only within ``tolerance`` seconds.

A header may hold several ``v1`` entries (one per signing secret during a rotation);
any one matching is enough. Receivers need only this module::

    from countersign.webhooks import verify, WebhookVerificationError

    try:
        verify(request_body_bytes, request.headers["X-Countersign-Signature"], SECRET)
    except WebhookVerificationError:
        return 400
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from typing import Final

from ..core.compare import macs_equal
from ..core.encoding import MAC_SIZE
from ..core.mac import hmac_sha256

SIGNATURE_HEADER: Final = "X-Countersign-Signature"
DEFAULT_TOLERANCE_SECONDS: Final = 300
SECRET_PREFIX: Final = "whsec_"  # noqa: S105 (a prefix, not a secret)
_SCHEME: Final = "v1"


class WebhookVerificationError(Exception):
    """A delivery whose signature does not hold. ``code`` says which check failed:
    ``malformed_header``, ``timestamp_outside_tolerance`` or ``signature_mismatch``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def new_signing_secret() -> str:
    """A fresh endpoint signing secret (never an identity secret: a leak of one must
    not let anyone sign identities, nor the reverse)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def _as_bytes(payload: bytes | str) -> bytes:
    return payload.encode("utf-8") if isinstance(payload, str) else payload


def _mac(secret: str, timestamp: int, payload: bytes) -> bytes:
    message = str(timestamp).encode("ascii") + b"." + payload
    return hmac_sha256(secret.encode("utf-8"), message)


def sign(payload: bytes | str, secret: str | Iterable[str], *, timestamp: int | None = None) -> str:
    """The header value for ``payload`` at ``timestamp`` (now by default), one ``v1``
    per secret."""
    at = int(time.time()) if timestamp is None else timestamp
    body = _as_bytes(payload)
    keys = [secret] if isinstance(secret, str) else list(secret)
    if not keys:
        raise ValueError("at least one signing secret is needed")
    return ",".join([f"t={at}", *(f"{_SCHEME}={_mac(key, at, body).hex()}" for key in keys)])


def _parse(header: str) -> tuple[int, list[bytes]]:
    timestamp: int | None = None
    macs: list[bytes] = []
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            raise WebhookVerificationError("malformed_header", "expected t=...,v1=... entries")
        if name == "t":
            if not value.isascii() or not value.isdigit() or timestamp is not None:
                raise WebhookVerificationError("malformed_header", "t= must be one unix time")
            timestamp = int(value)
        elif name == _SCHEME:
            try:
                mac = bytes.fromhex(value) if value.isascii() else b""
            except ValueError:
                mac = b""
            if len(mac) == MAC_SIZE:
                macs.append(mac)
        # Other schemes are ignored, so a receiver keeps working when a new one is added.
    if timestamp is None:
        raise WebhookVerificationError("malformed_header", "the header has no t= entry")
    if not macs:
        raise WebhookVerificationError("malformed_header", "the header has no valid v1= entry")
    return timestamp, macs


def verify(
    payload: bytes | str,
    header: str | None,
    secret: str | Iterable[str],
    *,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> int:
    """Check a delivery's signature header against the raw body as received.

    ``secret`` may be several secrets (during a rotation). Raises
    :class:`WebhookVerificationError` unless some ``v1`` MAC matches one of them and
    ``t`` lies within ``tolerance`` seconds of ``now``; returns ``t``. Pass the body
    bytes exactly as they arrived: parsing and re-serialising the JSON changes them.
    """
    if not header:
        raise WebhookVerificationError("malformed_header", "no signature header")
    timestamp, presented = _parse(header)
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise WebhookVerificationError(
            "timestamp_outside_tolerance",
            f"signed at {timestamp}, more than {tolerance:g} s from now: a replay, or a clock off",
        )
    body = _as_bytes(payload)
    keys = [secret] if isinstance(secret, str) else list(secret)
    for key in keys:
        expected = _mac(key, timestamp, body)
        # No early exit on a match is needed for safety: each comparison is constant-time.
        if any(macs_equal(expected, mac) for mac in presented):
            return timestamp
    raise WebhookVerificationError("signature_mismatch", "no signature matches the body")
