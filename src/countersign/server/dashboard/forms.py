"""Reading a dashboard form: URL-encoded, bounded, UTF-8, NUL-free.

Dashboard forms are plain ``application/x-www-form-urlencoded`` posts (the reply box
posts the same through ``fetch``), so the standard library parses them; no multipart
parser is needed and none is installed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Final
from urllib.parse import parse_qsl

from starlette.requests import Request

from ..body import read_body
from ..errors import ApiError
from .errors import BadForm

MAX_FIELDS: Final = 64
FORM_TYPE: Final = "application/x-www-form-urlencoded"


class Form(Mapping[str, str]):
    """The fields of a posted form; a repeated field keeps its first value."""

    def __init__(self, fields: dict[str, str]) -> None:
        self._fields = fields

    def __getitem__(self, key: str) -> str:
        return self._fields[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def text(self, name: str, *, max_chars: int = 1000, required: bool = True) -> str:
        value = self._fields.get(name, "")
        if required and not value.strip():
            raise BadForm(f"{name.replace('_', ' ')} is required")
        if len(value) > max_chars:
            raise BadForm(f"{name.replace('_', ' ')} is longer than {max_chars} characters")
        return value


EMPTY: Final = Form({})


async def read_form(request: Request, max_bytes: int) -> Form:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != FORM_TYPE:
        raise BadForm("send the form as application/x-www-form-urlencoded", status=415)
    try:
        raw = await read_body(request, max_bytes)
    except ApiError as error:
        raise BadForm(error.message, status=error.status) from None
    try:
        text = raw.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise BadForm("the form is not valid UTF-8 or has too many fields") from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        if "\x00" in name or "\x00" in value:
            raise BadForm("the form contains a NUL character")
        fields.setdefault(name, value)
    return Form(fields)
