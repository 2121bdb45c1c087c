"""An upload, received into a temporary file, judged and cleaned before it is stored.

The server streams the body into the file (counting against the app's limit as it
goes); this decides the type from the bytes, refuses what the app does not allow and
turns images into clean re-encodings (``images.py``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from . import images, types

READ_BYTES: Final = 256 * 1024


class Refused(Exception):
    """An upload the rules refuse: ``status`` and ``code`` are the API's answer."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def too_large(limit: int) -> Refused:
    return Refused(413, "file_too_large", f"the file is larger than this app's {limit} bytes")


@dataclass(frozen=True, slots=True)
class Accepted:
    kind: str  # a key of types.MIME
    path: Path  # the bytes to store: the upload itself, or an image's clean copy

    @property
    def content_type(self) -> str:
        return types.MIME[self.kind]


def read_chunks(path: Path, size: int = READ_BYTES) -> Iterator[bytes]:
    with path.open("rb") as file:
        while data := file.read(size):
            yield data


def judge(received: Path, name: str, allowed: Sequence[str] | None, limit: int) -> Accepted:
    """What ``received`` is, if the app takes it; raises :class:`Refused` otherwise."""
    with received.open("rb") as file:
        head = file.read(types.HEAD_BYTES)
    if not head:
        raise Refused(422, "empty_file", "file: the file is empty")
    kind = types.by_magic(head) or types.text_kind(read_chunks(received), name)
    permitted = types.DEFAULT_TYPES if allowed is None else allowed
    if kind is None or kind not in permitted:
        raise Refused(
            415,
            "file_type_not_allowed",
            f"this app accepts {', '.join(permitted)}; the file is "
            + (kind or "of no type it recognises"),
        )
    if kind not in types.IMAGE_TYPES:
        return Accepted(kind, received)
    clean = received.with_name(received.name + ".clean")
    try:
        images.clean_image(received, kind, clean)
    except images.NotAnImage as error:
        clean.unlink(missing_ok=True)
        raise Refused(422, "invalid_image", f"file: {error}") from error
    if clean.stat().st_size > limit:
        clean.unlink(missing_ok=True)
        raise too_large(limit)
    return Accepted(kind, clean)
