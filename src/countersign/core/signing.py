"""Sign and verify identifiers: ``HMAC-SHA256(secret, identifier)``.

The one-shot functions here are what a customer's backend (``sign``) and a quick check
(``verify``) need. A server checking many requests against the same secrets should
hold a :class:`~countersign.core.keyring.KeyRing`, which prepares each key once.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from .compare import macs_equal
from .encoding import Encoding, decode_signature, encode_mac
from .exc import InvalidIdentifier
from .identifiers import identifier_bytes
from .mac import PreparedKey, compute_mac
from .secret import Secret, SecretLike


@functools.lru_cache(maxsize=64)
def _prepared(secret: SecretLike) -> PreparedKey:
    # Lets the one-shot verify() skip the key schedule for secrets it sees again (a str
    # caches its own hash, so the lookup is cheap). The cache holds at most 64 secrets
    # of this process; a server holds a KeyRing instead.
    return PreparedKey(secret)


def sign(secret: SecretLike, identifier: str | int, *, encoding: Encoding = "hex") -> str:
    """The signature a backend sends with ``identifier``, in ``encoding``.

    Raises :class:`InvalidIdentifier` for an identifier SPEC section 2 refuses (so a
    backend finds out at signing time, not when the widget is refused) and
    :class:`InvalidSecret` for an empty secret.
    """
    return encode_mac(compute_mac(secret, identifier_bytes(identifier)), encoding)


def verify(
    secrets: SecretLike | Iterable[SecretLike], identifier: object, signature: object
) -> bool:
    """True when ``signature`` is the HMAC of ``identifier`` under any of ``secrets``.

    ``secrets`` is one secret or several (rotation: any active one may match). Never
    raises for what a browser can send: a malformed, non-ASCII, wrongly sized or
    non-``str`` signature and an identifier SPEC section 2 refuses are all ``False``.
    """
    try:
        message = identifier_bytes(identifier)
    except InvalidIdentifier:
        return False
    return verify_message(secrets, message, signature)


def verify_message(
    secrets: SecretLike | Iterable[SecretLike], message: bytes, signature: object
) -> bool:
    """:func:`verify` for raw message bytes (the layer test vectors exercise)."""
    presented = decode_signature(signature)
    if presented is None:
        return False
    if isinstance(secrets, str | bytes | Secret):
        return macs_equal(_prepared(secrets).mac(message), presented)
    matched = False
    for secret in secrets:
        # No early exit: the time taken does not say which key matched.
        matched |= macs_equal(_prepared(secret).mac(message), presented)
    return matched


def as_secret_list(secrets: SecretLike | Iterable[SecretLike]) -> list[Secret]:
    """One secret or an iterable of them, as a list of :class:`Secret`."""
    if isinstance(secrets, str | bytes | Secret):
        return [Secret(secrets)]
    return [Secret(secret) for secret in secrets]
