"""The reply token in ``reply+<token>@<inbound domain>``.

``<conversation id>.<tag>``, the tag the first 16 bytes of HMAC-SHA256 over (app,
conversation, contact) under a key derived from the master key for this purpose only,
in lower-case base32: no other MAC of Countersign's can stand for it, and a forged or
edited token fails the one compare. The conversation id is in the clear so the
receiver knows what to check; it is a credential of nothing on its own.
"""

from __future__ import annotations

import base64
from typing import Final

from ..core.compare import macs_equal
from ..core.mac import PreparedKey

KEY_PURPOSE: Final = "countersign mail reply token v1"
TAG_BYTES: Final = 16
_TAG_CHARS: Final = 26  # base32 of 16 bytes, unpadded


def _message(app_id: str, conversation_id: str, contact_id: str) -> bytes:
    # Length-prefixed, so no two triples make the same bytes.
    parts = (app_id, conversation_id, contact_id)
    return b"".join(len(p.encode()).to_bytes(2, "big") + p.encode() for p in parts)


class ReplyTokens:
    def __init__(self, key: bytes) -> None:
        self._key = PreparedKey(key)

    def _tag(self, app_id: str, conversation_id: str, contact_id: str) -> bytes:
        return self._key.mac(_message(app_id, conversation_id, contact_id))[:TAG_BYTES]

    def make(self, app_id: str, conversation_id: str, contact_id: str) -> str:
        tag = base64.b32encode(self._tag(app_id, conversation_id, contact_id)).decode()
        return f"{conversation_id}.{tag.rstrip('=').lower()}"

    @staticmethod
    def conversation_of(token: str) -> str | None:
        """The conversation a token names (unchecked), or None when it is no token."""
        conversation_id, dot, tag = token.rpartition(".")
        if not dot or not conversation_id or len(tag) != _TAG_CHARS or len(token) > 64:
            return None
        return conversation_id

    def verify(self, token: str, app_id: str, contact_id: str) -> bool:
        """Whether ``token`` was made for this app, its conversation and contact."""
        conversation_id = self.conversation_of(token)
        if conversation_id is None:
            return False
        # The tag's text is compared, not its decoded bytes: 26 base32 characters hold
        # 130 bits for the tag's 128, and a decoder ignores the last two, so four
        # spellings of the last character would otherwise verify.
        presented = token.rpartition(".")[2].lower().encode("ascii", "replace")
        expected = self.make(app_id, conversation_id, contact_id).rpartition(".")[2]
        return macs_equal(presented, expected.encode("ascii"))
