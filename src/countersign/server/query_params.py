"""Query parameters several routes take, declared once with their exact form."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import Query

MAX_CURSOR_CHARS: Final = 200

CursorParam = Annotated[
    str | None,
    Query(
        max_length=MAX_CURSOR_CHARS,
        pattern="^[A-Za-z0-9_-]*$",
        description=(
            "The `next_cursor` of the previous page, as handed out (unpadded base64url); "
            "empty or absent for the first page. One this server did not hand out is "
            "422 `invalid_cursor`."
        ),
    ),
]
"""``?cursor=``: opaque, but of a known alphabet and length."""
