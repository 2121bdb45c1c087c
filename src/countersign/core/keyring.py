"""An app's identity secrets as one object: the newest signs, every active one verifies.

This is what the server holds per app. Each key's HMAC state is prepared once, so a
check costs two hash-state copies instead of a key schedule (see ``benchmarks/``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from .compare import macs_equal
from .diagnosis import Diagnosis, diagnose_keys
from .encoding import Encoding, decode_signature, encode_mac
from .exc import InvalidIdentifier, InvalidSecret
from .identifiers import identifier_bytes
from .mac import PreparedKey
from .secret import Secret, SecretLike


@dataclass(frozen=True, slots=True)
class RingKey:
    """One identity secret with its public id (the JWT ``kid``) and creation time."""

    id: str
    secret: Secret
    created_at: datetime | None = None


def _as_ring_keys(keys: Iterable[RingKey | SecretLike], prefix: str) -> tuple[RingKey, ...]:
    return tuple(
        key if isinstance(key, RingKey) else RingKey(f"{prefix}{index}", Secret(key))
        for index, key in enumerate(keys)
    )


class KeyRing:
    """Active secrets, oldest first, and revoked ones kept only for diagnosis.

    Bare secrets get ids ``key-0``, ``key-1``, ... in the order given. When every key
    has a ``created_at`` the ring orders them by it; otherwise the order given is the
    age order, and the last key is the newest, which is the one that signs.
    """

    __slots__ = ("_keys", "_prepared", "_revoked")

    def __init__(
        self,
        keys: Iterable[RingKey | SecretLike],
        *,
        revoked: Iterable[RingKey | SecretLike] = (),
    ) -> None:
        active = _as_ring_keys(keys, "key-")
        if all(key.created_at is not None for key in active):
            active = tuple(sorted(active, key=lambda key: key.created_at))  # type: ignore[arg-type,return-value]
        self._keys = active
        self._prepared = tuple(PreparedKey(key.secret) for key in active)
        self._revoked = _as_ring_keys(revoked, "revoked-")

    @property
    def keys(self) -> tuple[RingKey, ...]:
        """The active keys, oldest first."""
        return self._keys

    @property
    def revoked(self) -> tuple[RingKey, ...]:
        return self._revoked

    @property
    def signing_key(self) -> RingKey:
        """The newest active key; :class:`InvalidSecret` when none is active."""
        if not self._keys:
            raise InvalidSecret("the key ring has no active secret")
        return self._keys[-1]

    def get(self, key_id: str) -> RingKey | None:
        """The active key with ``key_id``, if any."""
        return next((key for key in self._keys if key.id == key_id), None)

    def sign(self, identifier: str | int, *, encoding: Encoding = "hex") -> str:
        """Sign with the newest key (what a backend would send)."""
        signing = self._prepared[self._keys.index(self.signing_key)]
        return encode_mac(signing.mac(identifier_bytes(identifier)), encoding)

    def match(self, identifier: object, signature: object) -> RingKey | None:
        """The active key under which ``signature`` is valid, or ``None``.

        Never raises for what a browser sends. Every key is tried, so the time taken
        does not reveal which one matched.
        """
        try:
            message = identifier_bytes(identifier)
        except InvalidIdentifier:
            return None
        return self.match_message(message, signature)

    def match_message(self, message: bytes, signature: object) -> RingKey | None:
        """:meth:`match` for raw message bytes (the layer test vectors exercise)."""
        presented = decode_signature(signature)
        if presented is None:
            return None
        if len(self._prepared) == 1:  # the common case, without the loop's bookkeeping
            return self._keys[0] if macs_equal(self._prepared[0].mac(message), presented) else None
        found: RingKey | None = None
        for key, prepared in zip(self._keys, self._prepared, strict=True):
            if macs_equal(prepared.mac(message), presented) and found is None:
                found = key
        return found

    def verify(self, identifier: object, signature: object) -> bool:
        """True when ``signature`` is valid under any active key."""
        return self.match(identifier, signature) is not None

    def diagnose(
        self,
        identifier: object,
        signature: object,
        *,
        other_identifier: object = None,
        app_id: str | None = None,
    ) -> Diagnosis:
        """Why ``signature`` fails (or ``ok``), naming secrets by id."""
        return diagnose_keys(
            [(key.id, key.secret.reveal()) for key in self._keys],
            identifier,
            signature,
            revoked=[(key.id, key.secret.reveal()) for key in self._revoked],
            other_identifier=other_identifier,
            app_id=app_id,
        )

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[RingKey]:
        return iter(self._keys)

    def __repr__(self) -> str:
        ids = ", ".join(key.id for key in self._keys)
        return f"KeyRing([{ids}], revoked={len(self._revoked)})"
