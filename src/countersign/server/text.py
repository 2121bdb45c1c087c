"""Checks for free text and JSON values that are about to be stored."""

from __future__ import annotations

import json
from typing import Any

from .errors import ApiError

MAX_NAME_CHARS = 255  # a contact's name: what contacts.name holds


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
