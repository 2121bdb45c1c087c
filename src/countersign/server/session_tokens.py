"""Widget session tokens: signed, so opening a session writes no session row.

A token names a browser (its visitor id), that browser's session epoch when the token
was issued, and when it expires, under an HMAC keyed from the master key. What the
session may do -- which contact, verified or not, by which secret -- is the visitor's
row, which identify keeps current and every request reads. So a token ends when:

- it expires (its own ``expires_at``: the session TTL, or an identity token's ``exp``);
- the browser's epoch moves on: logout, or identify as someone else in that browser;
- the secret that verified the browser's identity is revoked (the row names it).

Only the visitor row is written, and only when the browser's identity changes, so an
identify of a returning browser writes nothing for its session. The token is opaque to
the widget; a forged or altered one fails the MAC and is simply unknown.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import msgspec

from ..core.compare import macs_equal
from ..core.encoding import b64url, unb64url
from ..storage.ids import random_bytes

PREFIX: Final = "cst_"
MAC_BYTES: Final = 16  # 128 bits: forging one is out of reach, and tokens stay short
SESSION_ID_BYTES: Final = 8
MAX_TOKEN_CHARS: Final = 400
KEY_PURPOSE: Final = "countersign widget session tokens v1"

_Payload = tuple[str, int, int, bytes]  # visitor id, epoch, expires (unix s), session id
_decode = msgspec.msgpack.Decoder(_Payload).decode


@dataclass(frozen=True, slots=True)
class TokenClaims:
    session_id: str  # tells tokens apart (streams are tracked by it); not a credential
    visitor_id: str
    epoch: int
    expires_at: datetime


class SessionTokens:
    """Issues and opens the tokens of one deployment (every node derives the same key
    from the master key, so any node opens any node's tokens)."""

    __slots__ = ("_mac",)

    def __init__(self, key: bytes) -> None:
        self._mac = hmac.new(key, digestmod=hashlib.sha256)  # copied per token

    def _sign(self, payload: str) -> bytes:
        mac = self._mac.copy()
        mac.update(payload.encode("ascii"))
        return mac.digest()[:MAC_BYTES]

    def issue(self, visitor_id: str, epoch: int, expires_at: datetime) -> tuple[str, str]:
        """A new token and its session id."""
        session_id = random_bytes(SESSION_ID_BYTES)
        expires = int(expires_at.timestamp())
        payload = b64url(msgspec.msgpack.encode((visitor_id, epoch, expires, session_id)))
        return f"{PREFIX}{payload}.{b64url(self._sign(payload))}", session_id.hex()

    def open(self, token: str) -> TokenClaims | None:
        """The claims of an authentic token (expired or not), else None."""
        if len(token) > MAX_TOKEN_CHARS or not token.startswith(PREFIX) or not token.isascii():
            return None
        payload, dot, mac_text = token[len(PREFIX) :].partition(".")
        if not dot:
            return None
        try:
            presented = unb64url(mac_text)
        except (binascii.Error, ValueError):
            return None
        if not macs_equal(self._sign(payload), presented):
            return None
        # Authentic, so ours: decoding can only fail for a token of another format.
        try:
            visitor_id, epoch, expires, session_id = _decode(unb64url(payload))
            expires_at = datetime.fromtimestamp(expires, UTC)
        except (binascii.Error, ValueError, msgspec.DecodeError, OverflowError, OSError):
            return None
        return TokenClaims(session_id.hex(), visitor_id, epoch, expires_at)
