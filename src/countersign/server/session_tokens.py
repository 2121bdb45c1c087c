"""Widget session tokens: sealed, so opening a session writes no session row and a
token tells its holder nothing.

A token carries a browser (its visitor id), that browser's session epoch when the
token was issued, the id of the secret (or key) that verified it, and when it expires,
sealed with AES-GCM under a key derived from the master key. The seal is both the MAC
(a forged or altered token fails to open and is simply unknown) and the reason a token
read off a screen or a log names no visitor: a visitor id is a credential of that
browser's anonymous history, so it never travels inside something the widget shows.

What the session may do -- which contact, verified or not -- is the visitor's row,
which identify keeps current and every request reads. A token ends, for good, when:

- it expires (its own ``expires_at``: the session TTL, or an identity token's ``exp``);
- its browser's visitor is retired: logout, or a change of identity in that browser
  (the browser then gets a new visitor id, so no later identify brings the token back);
- the secret it names was revoked or has expired, or the browser has been identified
  under another secret since (the row names one secret; a token must name the same).

Only one spelling of a token opens: unpadded base64url whose last character has no
stray bits (anything else could be a second spelling of the same token).
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..core.encoding import b64url, unb64url
from ..vocabulary.ids import random_bytes

PREFIX: Final = "cst_"
NONCE_BYTES: Final = 12  # random per token; it is also the session's id
MAX_TOKEN_CHARS: Final = 400
KEY_PURPOSE: Final = "countersign widget session tokens v2"
_AAD: Final = PREFIX.encode("ascii")
_BASE64URL: Final = re.compile(r"[A-Za-z0-9_-]+")

# visitor id, epoch, expires (unix s), verifying secret id (None: nothing verified)
_Payload = tuple[str, int, int, str | None]
_decode = msgspec.msgpack.Decoder(_Payload).decode
_encode = msgspec.msgpack.Encoder().encode


@dataclass(frozen=True, slots=True)
class TokenClaims:
    session_id: str  # tells tokens apart (streams are tracked by it); not a credential
    visitor_id: str
    epoch: int
    expires_at: datetime
    secret_id: str | None = None


class SessionTokens:
    """Issues and opens the tokens of one deployment (every node derives the same key
    from the master key, so any node opens any node's tokens)."""

    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def issue(
        self, visitor_id: str, epoch: int, expires_at: datetime, secret_id: str | None = None
    ) -> tuple[str, str]:
        """A new token and its session id."""
        nonce = random_bytes(NONCE_BYTES)
        payload = _encode((visitor_id, epoch, int(expires_at.timestamp()), secret_id))
        sealed = self._aead.encrypt(nonce, payload, _AAD)
        return PREFIX + b64url(nonce + sealed), nonce.hex()

    def open(self, token: str) -> TokenClaims | None:
        """The claims of an authentic token (expired or not), else None."""
        if len(token) > MAX_TOKEN_CHARS or not token.startswith(PREFIX):
            return None
        text = token[len(PREFIX) :]
        if not _BASE64URL.fullmatch(text):
            return None
        try:
            raw = unb64url(text)
        except (binascii.Error, ValueError):
            return None
        if b64url(raw) != text:  # stray bits in the last character: another spelling
            return None
        nonce, sealed = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
        try:
            payload = self._aead.decrypt(nonce, sealed, _AAD)
        except (InvalidTag, ValueError):
            return None
        # Authentic, so ours: decoding can only fail for a token of another format.
        try:
            visitor_id, epoch, expires, secret_id = _decode(payload)
            expires_at = datetime.fromtimestamp(expires, UTC)
        except (ValueError, msgspec.DecodeError, OverflowError, OSError):
            return None
        return TokenClaims(nonce.hex(), visitor_id, epoch, expires_at, secret_id)
