"""What may be signed as an identifier, and its exact bytes."""

from __future__ import annotations

import re
from typing import Final

from .exc import InvalidIdentifier

MAX_IDENTIFIER_CHARS: Final = 255

# C0 controls, DEL and C1 controls: invisible, often injected by copy-paste or a stray
# newline, and NUL truncates in too many backends to be safe.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
# A surrogate code point in a str is always a lone one (JSON pairs an escaped pair into
# one character): no UTF-8 bytes spell it, so nothing could have signed it and no
# database stores it.
_SURROGATE = re.compile("[\ud800-\udfff]")

Identifier = str | int
"""A user id or email: text, or an integer signed as its decimal string."""


def identifier_text(identifier: object) -> str:
    """The text that is signed for ``identifier``, or :class:`InvalidIdentifier`.

    An ``int`` becomes its decimal string (``1234`` -> ``"1234"``). Booleans, floats,
    ``None`` and containers are refused: their string forms differ between languages,
    so a backend and Countersign would disagree on what was signed. Text is never
    trimmed, case-folded or normalised.
    """
    if isinstance(identifier, str):
        text = identifier
    elif isinstance(identifier, int) and not isinstance(identifier, bool):
        if abs(identifier) >= 10**MAX_IDENTIFIER_CHARS:
            raise InvalidIdentifier("the identifier is longer than 255 characters")
        text = str(identifier)
    else:
        raise InvalidIdentifier(
            f"an identifier is a string or an integer, not {type(identifier).__name__}"
        )
    if not 0 < len(text) <= MAX_IDENTIFIER_CHARS:
        raise InvalidIdentifier(
            "the identifier is empty"
            if not text
            else "the identifier is longer than 255 characters"
        )
    # isprintable() is a fast C check that implies "no control character" and "no
    # surrogate"; only text it rejects (non-ASCII spaces, format characters, those two)
    # needs the exact tests.
    if not text.isprintable():
        if _CONTROL.search(text):
            raise InvalidIdentifier("the identifier contains a control character")
        if _SURROGATE.search(text):
            raise InvalidIdentifier("the identifier is not valid Unicode text")
    return text


def identifier_bytes(identifier: object) -> bytes:
    """The UTF-8 bytes that are signed for ``identifier`` (see :func:`identifier_text`)."""
    return identifier_text(identifier).encode("utf-8")  # the text holds no lone surrogate
