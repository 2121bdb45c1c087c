"""Receiving one file from a multipart body, streamed to a temporary file.

``request.form()`` would spool every field first and only then let us count; this
feeds ``request.stream()`` through python-multipart's streaming parser, writes the
``file`` part's bytes to disk as they come and stops with 413 ``file_too_large`` the
moment they pass the app's limit (at once when Content-Length already says so). The
body holds exactly one ``file`` part; other fields are ignored but counted."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Final

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from ..attachments.checks import too_large
from .errors import ApiError

# Room for the part headers, the boundaries and a few small fields around the file.
ENVELOPE_BYTES: Final = 64 * 1024
_MAX_LENGTH_DIGITS: Final = 18


def _invalid(message: str) -> ApiError:
    return ApiError(422, "invalid_request", message)


@dataclass
class _Part:
    headers: dict[bytes, bytes] = field(default_factory=dict)
    field_name: bytes = b""
    value: bytes = b""


@dataclass
class _Receiver:
    """python-multipart's callbacks: the current part's headers, then its bytes."""

    limit: int
    file: IO[bytes]
    name: str | None = None
    files: int = 0
    size: int = 0
    ended: bool = False
    part: _Part = field(default_factory=_Part)
    in_file: bool = False
    error: ApiError | None = None

    def on_part_begin(self) -> None:
        self.part = _Part()
        self.in_file = False

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.part.field_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.part.value += data[start:end]

    def on_header_end(self) -> None:
        self.part.headers[self.part.field_name.lower()] = self.part.value
        self.part.field_name = self.part.value = b""

    def on_headers_finished(self) -> None:
        disposition, options = parse_options_header(
            self.part.headers.get(b"content-disposition", b"")
        )
        if disposition != b"form-data" or options.get(b"name") != b"file":
            return
        self.files += 1
        if self.files > 1:
            raise _invalid("file: send exactly one file field")
        self.in_file = True
        raw = options.get(b"filename")
        self.name = raw.decode("utf-8", "replace") if raw is not None else None

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if not self.in_file:
            return
        self.size += end - start
        if self.size > self.limit:
            raise too_large(self.limit)
        self.file.write(data[start:end])

    def on_end(self) -> None:
        self.ended = True


@dataclass(frozen=True, slots=True)
class Received:
    path: Path
    name: str | None  # as the client sent it: sanitise before storing or showing


def _boundary(request: Request) -> bytes:
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data":
        raise ApiError(415, "unsupported_media_type", "send the file as multipart/form-data")
    boundary = options.get(b"boundary")
    if not boundary:
        raise _invalid("the multipart body has no boundary")
    return boundary


def _declared_length(request: Request) -> int | None:
    declared = request.headers.get("content-length")
    if declared is None:
        return None
    if not declared.isdigit() or len(declared) > _MAX_LENGTH_DIGITS:
        raise ApiError(400, "bad_request", "Content-Length is not a number")
    return int(declared)


@contextlib.asynccontextmanager
async def receive_file(request: Request, limit: int) -> AsyncIterator[Received]:
    """The body's one ``file`` part in a private temporary file, removed on exit."""
    boundary = _boundary(request)
    length = _declared_length(request)
    body_limit = limit + ENVELOPE_BYTES
    if length is not None and length > body_limit:
        raise too_large(limit)
    descriptor, name = tempfile.mkstemp(prefix="countersign-upload-")  # 0600
    path = Path(name)
    try:
        with os.fdopen(descriptor, "wb") as file:
            receiver = _Receiver(limit, file)
            parser = MultipartParser(
                boundary,
                {
                    "on_part_begin": receiver.on_part_begin,
                    "on_header_field": receiver.on_header_field,
                    "on_header_value": receiver.on_header_value,
                    "on_header_end": receiver.on_header_end,
                    "on_headers_finished": receiver.on_headers_finished,
                    "on_part_data": receiver.on_part_data,
                    "on_end": receiver.on_end,
                },
                # A 10 kB file name is stored capped, not refused (names.py).
                max_header_size=ENVELOPE_BYTES // 2,
            )
            total = 0
            try:
                async for data in request.stream():
                    total += len(data)
                    if total > body_limit:
                        raise too_large(limit)
                    parser.write(data)
                parser.finalize()
            except MultipartParseError:
                raise _invalid("the multipart body is malformed") from None
            except ClientDisconnect:
                raise _invalid("the multipart body ended early") from None
        if not receiver.ended:
            raise _invalid("the multipart body ended early")
        if receiver.files == 0:
            raise _invalid("file: the multipart body has no file field")
        yield Received(path, receiver.name)
    finally:
        path.unlink(missing_ok=True)
