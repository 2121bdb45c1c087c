"""Reading a JSON request body strictly: bounded size, UTF-8, no duplicate keys, no NaN.

Duplicate keys matter for identity: ``{"user_id": "me", "user_id": "victim"}`` reads
as one user to one parser and another to the next. Refusing them leaves no ambiguity
about what was claimed.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any, Final, TypeVar

import msgspec
from starlette.requests import Request

from .errors import ApiError

T = TypeVar("T")

# A lone surrogate can only arrive as a ``\\uD800``-style escape (strict UTF-8 decoding
# refuses an encoded one), so only a body holding such an escape is walked for one.
_SURROGATE_ESCAPE: Final = re.compile(rb"\\u[dD][89abcdefABCDEF]")
# Longer than this, a Content-Length is over any body limit (and int() of thousands
# of digits raises ValueError).
_MAX_LENGTH_DIGITS: Final = 18


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        duplicate = next(key for key, _ in pairs if key in seen or seen.add(key))  # type: ignore[func-returns-value]
        raise ApiError(400, "invalid_json", f"duplicate key {duplicate!r} in the JSON body")
    return result


def _no_constants(name: str) -> Any:
    raise ApiError(400, "invalid_json", f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    # Fix: ``1e999`` parsed as infinity, which PostgreSQL's JSON column then refused
    # (a 500) and SQLite stored as null: a number out of range is refused like NaN.
    value = float(text)
    if not math.isfinite(value):
        raise ApiError(400, "invalid_json", f"the number {text[:20]} is out of range")
    return value


def _any_text(document: Any, test: Callable[[str], bool]) -> bool:
    """Whether ``test`` holds for any string (key or value) of ``document``.

    Iterative, so a document nested as deeply as the parser allows is walked too (a
    recursive walk raised RecursionError on a body nested ~500 deep: a 500).
    """
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if test(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _lone_surrogate(text: str) -> bool:
    """Whether ``text`` holds a surrogate without its pair (not encodable as UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _nul(text: str) -> bool:
    # PostgreSQL refuses NUL in text and no id or message needs one: refused at the
    # edge, before it can reach a query.
    return "\x00" in text


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The raw body, or 413 as soon as it passes ``max_bytes`` (declared or streamed)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        # Fix: str.isdigit() accepts non-ASCII digits ("²") that int() refuses, and
        # int() refuses thousands of digits; both were a 500.
        if not (declared.isascii() and declared.isdigit()):
            raise ApiError(400, "bad_request", "Content-Length is not a number")
        if len(declared) > _MAX_LENGTH_DIGITS or int(declared) > max_bytes:
            raise ApiError(413, "payload_too_large", f"the body is over {max_bytes} bytes")
        return await request.body()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise ApiError(413, "payload_too_large", f"the body is over {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


# Built once: json.loads with these hooks builds a decoder and its scanner per call,
# which cost as much as the parse of a small body (benchmarks/identify.py).
_DECODER: Final = json.JSONDecoder(
    object_pairs_hook=_no_duplicate_keys,
    parse_constant=_no_constants,
    parse_float=_finite_float,
)


def parse_json(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_json", "the body is not UTF-8") from None
    try:
        if text.startswith("\ufeff"):  # as json.loads says, which _DECODER does not check
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        document = _DECODER.decode(text)
    except json.JSONDecodeError as error:
        raise ApiError(400, "invalid_json", f"the body is not JSON: {error.msg}") from None
    except RecursionError:
        raise ApiError(400, "invalid_json", "the JSON body is nested too deeply") from None
    except ValueError:
        # Fix: an integer of more than 4300 digits raised ValueError (a 500).
        raise ApiError(400, "invalid_json", "a number in the body is too long") from None
    # Fix: "\\ud800" is valid JSON syntax but not text: it cannot be encoded as UTF-8,
    # so every later use (signing, the database, the log) failed with a 500. Refused
    # here once for every field, as I-JSON (RFC 7493) does.
    if b"\\u" in raw and _SURROGATE_ESCAPE.search(raw) and _any_text(document, _lone_surrogate):
        raise ApiError(
            400,
            "invalid_json",
            "the body holds an unpaired UTF-16 surrogate escape (U+D800 to U+DFFF)",
        )
    return document


def require_json_content_type(request: Request) -> None:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")


def _keys_repeat(raw: bytes) -> bool:
    """Whether any object key occurs twice in ``raw`` -- in the same object or not, so
    it can answer True for a document the careful path accepts, never False for one it
    refuses. Only for a body without a backslash: then no string holds a quote, the
    strings are exactly the text between alternate quotes, and a key is a string
    followed by a colon."""
    parts = raw.split(b'"')
    keys = [parts[i] for i in range(1, len(parts) - 1, 2) if parts[i + 1].lstrip()[:1] == b":"]
    return len(keys) != len(set(keys))


def _decode_plain(raw: bytes, model: type[T]) -> T | None:
    """The body decoded by msgspec alone, when that is sure to give what the careful
    path would; None when the careful path must decide.

    Every refusal of the careful path is also msgspec's (malformed JSON, NaN, numbers
    out of range, bad UTF-8, control characters, a wrong type or an unknown field)
    except two it cannot see: a duplicate key, and escapes that decode to a lone
    surrogate or NUL. A body with no backslash has no escapes, and one whose keys do
    not repeat has no duplicates. Any failure here goes to the careful path, which
    says why; so this only ever returns what ``read_model`` would have returned, in
    ~2 µs instead of ~10 for a typical identify body.
    """
    if b"\\" in raw or _keys_repeat(raw):
        return None
    try:
        return msgspec.json.decode(raw, type=model, strict=True)
    except (ValueError, RecursionError):  # msgspec's errors and bad UTF-8 are ValueErrors
        return None


async def read_model(request: Request, model: type[T], max_bytes: int) -> T:
    """The body as ``model`` (a strict msgspec Struct): 415, 413, 400 or 422 otherwise."""
    require_json_content_type(request)
    raw = await read_body(request, max_bytes)
    if (plain := _decode_plain(raw, model)) is not None:
        return plain
    document = parse_json(raw)
    if b"u0000" in raw and _any_text(document, _nul):  # cheap test first: NUL is rare
        raise ApiError(422, "invalid_request", "text in the body contains a NUL character")
    if not isinstance(document, dict):
        raise ApiError(422, "invalid_request", "the body must be a JSON object")
    try:
        return msgspec.convert(document, model, strict=True)
    except msgspec.ValidationError as error:
        raise ApiError(422, "invalid_request", str(error).replace("$.", "")) from None
