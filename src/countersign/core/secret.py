"""A wrapper that keeps secret bytes out of reprs, logs and tracebacks."""

from __future__ import annotations

from typing import Final, NoReturn

from .exc import InvalidSecret

_MASK: Final = "**********"


class Secret:
    """Secret key material. ``repr`` and ``str`` never show it; ``reveal()`` does.

    A ``str`` is encoded as UTF-8 exactly as typed: SPEC section 2 says the secret is
    used as the integrator wrote it, never hex- or base64-decoded.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str | bytes | Secret) -> None:
        if isinstance(value, Secret):
            self._value: bytes = value._value
            return
        if isinstance(value, str):
            try:
                raw = value.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidSecret("the secret is not valid Unicode text") from None
        elif isinstance(value, bytes | bytearray | memoryview):
            raw = bytes(value)
        else:
            raise InvalidSecret(f"a secret is str or bytes, not {type(value).__name__}")
        if not raw:
            raise InvalidSecret("the secret is empty")
        self._value = raw

    def reveal(self) -> bytes:
        """The key bytes. Call only where they are about to be used as a key."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{_MASK}')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        # Secrets are not compared by value: equality would invite a non-constant-time
        # comparison somewhere. Identity is all that is needed to de-duplicate.
        return self is other

    def __hash__(self) -> int:
        return id(self)

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled")


SecretLike = str | bytes | Secret
"""What every core function accepts as a secret."""
