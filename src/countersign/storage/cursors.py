"""Pages of a list, and the opaque cursors that continue them.

A cursor is base64url of the sort key of the last row a page held; it is checked as
strictly as any input (a forged one is :class:`CursorError`, answered 422), since its
parts are bound into the next query."""

from __future__ import annotations

import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from ..core.encoding import b64url, unb64url
from ..vocabulary.ids import well_formed_id
from .errors import Invalid
from .models import (
    MAX_INTEGER,
)

MAX_PAGE: Final = 100


@dataclass(frozen=True, slots=True)
class Page:
    data: list[dict[str, Any]]
    next_cursor: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"data": self.data, "next_cursor": self.next_cursor}


class CursorError(Invalid):
    """A pagination cursor that this server did not hand out."""

    code = "invalid_cursor"


def encode_cursor(*parts: object) -> str:
    return b64url("|".join(map(str, parts)).encode())


def decode_cursor(cursor: str, count: int) -> list[str]:
    try:
        text = unb64url(cursor).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise CursorError("the cursor is not one this server handed out") from None
    parts = text.split("|")
    if len(parts) != count:
        raise CursorError("the cursor is not one this server handed out")
    return parts


def cursor_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
        # The query binds it as UTC, and year 1 at +14:00 (or 9999-12-31 at -14:00)
        # has no UTC time: converted there, it raised OverflowError (a 500).
        moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise CursorError("the cursor is not one this server handed out") from None
    if moment.tzinfo is None:
        raise CursorError("the cursor is not one this server handed out")
    return moment


def cursor_id(text: str, prefix: str) -> str:
    # The cursor's tie-breaker is compared with an id column: NUL in it was a 500 on
    # PostgreSQL, and no id outside the id format can be one this server handed out.
    if not well_formed_id(text, prefix):
        raise CursorError("the cursor is not one this server handed out")
    return text


def cursor_seq(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_INTEGER:  # seq: Integer
        raise CursorError("the cursor is not one this server handed out")
    return int(text)


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
