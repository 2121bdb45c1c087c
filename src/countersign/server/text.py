"""Checks for free text and JSON values that are about to be stored."""

from __future__ import annotations

import json
from typing import Any, Final

import msgspec

from .errors import ApiError

MAX_NAME_CHARS = 255  # a contact's name: what contacts.name holds

#: The rule for every string in every JSON body, keys included: the body reader refuses
#: NUL (``\u0000``) anywhere in a document (body.py). The OpenAPI document states it on
#: each (openapi.py), in escapes ECMA and Python regexes both read. Lone surrogates are
#: refused too, but are no Unicode text, so no JSON Schema string holds one: a pattern
#: naming their range is one many validators cannot even compile.
BODY_TEXT_PATTERN: Final = r"^[^\u0000]*$"

_ALLOWED: Final = r"[^\u0000]"
#: :data:`BODY_TEXT_PATTERN` with at least one character that is not white space.
NOT_BLANK_PATTERN: Final = rf"^{_ALLOWED}*[^\s\u0000]{_ALLOWED}*$"


def text_schema(
    max_chars: int, *, allow_empty: bool = False, not_blank: bool = False
) -> dict[str, Any]:
    """What :func:`storable_text` with these bounds accepts, as JSON Schema."""
    schema: dict[str, Any] = {"minLength": 0 if allow_empty else 1, "maxLength": max_chars}
    if not_blank:
        schema["pattern"] = NOT_BLANK_PATTERN
    return schema


def text_meta(
    max_chars: int, *, allow_empty: bool = False, not_blank: bool = False
) -> msgspec.Meta:
    """Documents (never enforces: :func:`storable_text` answers, naming the field) a
    body's text field, for ``Annotated[str, text_meta(...)]``."""
    return msgspec.Meta(
        extra_json_schema=text_schema(max_chars, allow_empty=allow_empty, not_blank=not_blank)
    )


def json_meta(max_chars: int) -> msgspec.Meta:
    """Documents a free-form JSON object checked by :func:`storable_json`."""
    return msgspec.Meta(
        extra_json_schema={
            "description": f"Any JSON object; at most {max_chars} characters as JSON text.",
            "additionalProperties": {"$ref": "#/components/schemas/JsonValue"},
        }
    )


def storable_text(value: str, field: str, *, max_chars: int, allow_empty: bool = False) -> str:
    """``value`` if it is valid Unicode within bounds, else 422 naming ``field``.

    JSON may carry lone surrogates (``"\\ud800"``); no database stores them, so they are
    refused here rather than failing the write.
    """
    if not value and not allow_empty:
        raise ApiError(422, "invalid_request", f"{field} must not be empty")
    if len(value) > max_chars:
        raise ApiError(422, "invalid_request", f"{field} is longer than {max_chars} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(422, "invalid_request", f"{field} is not valid Unicode text") from None
    if "\x00" in value:
        raise ApiError(422, "invalid_request", f"{field} contains a NUL character")
    return value


def storable_json(value: Any, field: str, *, max_chars: int) -> Any:
    """``value`` if its JSON is valid Unicode, NUL-free and within ``max_chars``."""
    try:
        text = json.dumps(value, ensure_ascii=False)
        text.encode("utf-8")
    except (TypeError, ValueError, RecursionError, UnicodeEncodeError):
        raise ApiError(422, "invalid_request", f"{field} is not storable JSON") from None
    if len(text) > max_chars:
        raise ApiError(422, "invalid_request", f"{field} is larger than {max_chars} characters")
    if "\\u0000" in text or "\x00" in text:
        raise ApiError(422, "invalid_request", f"{field} contains a NUL character")
    return value
