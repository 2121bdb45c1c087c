"""Unverified metadata: bounded in size, dropped a whole field at a time."""

from __future__ import annotations

import json
from typing import Any

from ..errors import ApiError


def _field_chars(key: str, value: Any) -> int:
    return len(json.dumps({key: value}, ensure_ascii=False, separators=(",", ":"))) - 2


def limit_metadata(
    metadata: dict[str, Any] | None, max_chars: int
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """Keep fields in order while the JSON of what is kept fits in ``max_chars``.

    A field that does not fit is dropped whole (never truncated, which could change
    its meaning) and named in a warning; later, smaller fields may still fit.
    """
    if not metadata:
        return {}, []
    kept: dict[str, Any] = {}
    warnings: list[dict[str, str]] = []
    used = 2  # the braces
    for key, value in metadata.items():
        try:
            size = _field_chars(key, value)
        except (TypeError, ValueError, RecursionError):
            raise ApiError(422, "invalid_metadata", f"user_metadata.{key} is not JSON") from None
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
            key.encode("utf-8")
        except UnicodeEncodeError:
            raise ApiError(
                422, "invalid_metadata", "user_metadata holds text that is not valid Unicode"
            ) from None
        separator = 1 if kept else 0
        if used + separator + size > max_chars:
            warnings.append(
                {
                    "code": "metadata_field_dropped",
                    "field": key,
                    "message": f"user_metadata.{key} was dropped: metadata is limited to "
                    f"{max_chars} characters",
                }
            )
            continue
        kept[key] = value
        used += separator + size
    return kept, warnings
