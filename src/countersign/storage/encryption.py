"""Identity secrets at rest: AES-256-GCM under the master key.

The master key comes from ``COUNTERSIGN_MASTER_KEY`` (32 bytes as base64, base64url or
hex) or, when unset, from ``master.key`` in the data dir, created with mode 0600 on
first use. Losing it means every identity secret must be re-created, so the README
tells operators to back it up separately from the database.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import secrets
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..core import Secret
from .private_files import make_private_dir

KEY_BYTES: Final = 32
NONCE_BYTES: Final = 12
KEY_FILE: Final = "master.key"


class MasterKeyError(Exception):
    """The master key is missing, malformed, or not the one the data was sealed with."""


def parse_master_key(text: str) -> bytes:
    """32 key bytes from their hex, base64 or base64url text."""
    text = text.strip()
    candidates = []
    if len(text) == 2 * KEY_BYTES:
        with contextlib.suppress(binascii.Error):
            candidates.append(binascii.unhexlify(text))
    with contextlib.suppress(binascii.Error, ValueError):
        candidates.append(base64.urlsafe_b64decode(text.replace("+", "-").replace("/", "_") + "=="))
    for key in candidates:
        if len(key) == KEY_BYTES:
            return key
    raise MasterKeyError(
        "COUNTERSIGN_MASTER_KEY must be 32 random bytes as hex or base64; "
        'make one with: python -c "import secrets; print(secrets.token_urlsafe(32))"'
    )


def load_or_create_key_file(data_dir: Path) -> bytes:
    """The data dir's master key, created (mode 0600, never overwritten) if absent."""
    path = data_dir / KEY_FILE
    try:
        return parse_master_key(path.read_text(encoding="ascii"))
    except FileNotFoundError:
        pass
    make_private_dir(data_dir)
    encoded = base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode()
    try:
        # O_EXCL: two processes starting at once cannot both write a key.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return parse_master_key(path.read_text(encoding="ascii"))
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(encoded + "\n")
    return parse_master_key(encoded)


class SecretBox:
    """Seals and opens identity secrets. ``aad`` binds a ciphertext to its row id."""

    __slots__ = ("_aead", "_key")

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise MasterKeyError("the master key must be 32 bytes")
        self._aead = AESGCM(key)
        self._key = key

    def derive_key(self, purpose: str) -> bytes:
        """A 32-byte key for ``purpose`` (HKDF-SHA256 of the master key): each use of
        the master key gets its own, so no two uses can be played against each other."""
        return HKDF(algorithm=SHA256(), length=KEY_BYTES, salt=None, info=purpose.encode()).derive(
            self._key
        )

    def seal(self, secret: Secret, aad: str) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, secret.reveal(), aad.encode())

    def open(self, sealed: bytes, aad: str) -> Secret:
        try:
            plain = self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad.encode())
        except InvalidTag:
            raise MasterKeyError(
                "an identity secret does not decrypt: the master key is not the one it "
                "was stored with (check COUNTERSIGN_MASTER_KEY or the data dir's master.key)"
            ) from None
        return Secret(plain)

    def __repr__(self) -> str:
        return "SecretBox(<master key>)"
