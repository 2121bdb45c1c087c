"""The types an upload may have, told from its bytes alone.

Never from the client's Content-Type or name: either is whatever the sender wants.
Binary types by their magic bytes; plain text and CSV as valid UTF-8 with no NUL or
other control bytes. SVG, HTML and anything else scriptable is simply not a type here,
so it cannot be allowed."""

from __future__ import annotations

import codecs
from collections.abc import Iterable
from typing import Final

MIME: Final[dict[str, str]] = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "pdf": "application/pdf",
    "zip": "application/zip",
    "txt": "text/plain",
    "csv": "text/csv",
}
DEFAULT_TYPES: Final = tuple(MIME)
IMAGE_TYPES: Final = frozenset({"png", "jpeg", "gif", "webp"})
HEAD_BYTES: Final = 16  # enough for every signature below

_MAGIC: Final = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"%PDF-", "pdf"),
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),  # an empty archive
)
# Tab, LF, CR and form feed are text; every other C0 byte (and DEL) is not.
_CONTROL: Final = frozenset(range(0x20)) - {0x09, 0x0A, 0x0C, 0x0D} | {0x7F}


def by_magic(head: bytes) -> str | None:
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    for signature, kind in _MAGIC:
        if head.startswith(signature):
            return kind
    return None


# What a browser's sniffer takes for a page or a script (the WHATWG MIME sniffing
# standard's HTML signatures, plus SVG and XML): such "text" is refused outright.
_MARKUP: Final = (
    b"<!doctype html", b"<html", b"<head", b"<script", b"<iframe", b"<h1", b"<div",
    b"<font", b"<table", b"<a", b"<style", b"<title", b"<b", b"<body", b"<br", b"<p",
    b"<!--", b"<svg", b"<?xml",
)  # fmt: skip


def _markup(head: bytes) -> bool:
    start = head.lstrip(b" \t\n\r\x0c").lower()
    if start.startswith(b"\xef\xbb\xbf"):
        start = start[3:].lstrip(b" \t\n\r\x0c")
    return any(start.startswith(tag) for tag in _MARKUP)


def text_kind(chunks: Iterable[bytes], name: str) -> str | None:
    """``"csv"`` or ``"txt"`` for valid UTF-8 text, else None. The name only chooses
    between the two text types (a CSV is text either way), never makes text of bytes.
    Text that opens like markup is no text type either."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    first = True
    try:
        for data in chunks:
            if first and _markup(data[:64]):
                return None
            first = False
            if not _CONTROL.isdisjoint(data):
                return None
            decoder.decode(data)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return None
    return "csv" if name.lower().endswith(".csv") else "txt"


def parse_type_list(text: str) -> list[str]:
    """``"png,jpeg,pdf"`` as the list an app stores; an unknown name is refused."""
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    aliases = {"jpg": "jpeg", "text": "txt", "plain": "txt"}
    names = [aliases.get(name, name) for name in names]
    unknown = [name for name in names if name not in MIME]
    if unknown or not names:
        raise ValueError(
            f"unknown attachment type(s) {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(DEFAULT_TYPES)}"
        )
    return list(dict.fromkeys(names))
