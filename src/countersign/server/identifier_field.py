"""The identifier rule of SPEC section 2 for what a request names as a user id or email.

``countersign.core.identifier_text`` is the rule (1 to 255 characters, no control
characters, valid Unicode). This is its one answer to a client, 422
``invalid_identifier`` naming the field, and how the OpenAPI document states it. Every
route that takes a user id or email, in a body, a path or an identity token, goes
through :func:`identifier_field`, so no path stores an identifier the others refuse.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

import msgspec
from fastapi import Path

from ..core import MAX_IDENTIFIER_CHARS, InvalidIdentifier, identifier_text
from .errors import ApiError

SCHEMA: Final[dict[str, Any]] = {
    "minLength": 1,
    "maxLength": MAX_IDENTIFIER_CHARS,
    # No C0/C1 control or DEL (core/identifiers.py), in escapes that ECMA and Python
    # regexes both read (lone surrogates: see text.BODY_TEXT_PATTERN).
    "pattern": r"^[^\u0000-\u001F\u007F-\u009F]*$",
}

# Both only document the rule: a schema check would answer ``invalid_request`` before
# identifier_field could answer ``invalid_identifier``, the code clients are told.
IdentifierText = Annotated[str, msgspec.Meta(extra_json_schema=SCHEMA)]
"""A body's identifier string, as msgspec schemas document it."""

IdentifierPath = Annotated[str, Path(json_schema_extra=SCHEMA)]
"""A path's identifier, as FastAPI documents it."""


def identifier_field(value: object, field: str) -> str:
    """The identifier text of ``value``, or 422 ``invalid_identifier`` naming ``field``."""
    try:
        return identifier_text(value)
    except InvalidIdentifier as error:
        raise ApiError(422, "invalid_identifier", f"{field}: {error}") from None
