"""Random public identifiers and credentials, each with a prefix that says what it is."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import threading
import time
from typing import Final

from ..core.encoding import b64url

_POOL_BYTES: Final = 4096
MAX_ID_CHARS: Final = 40  # what every public id column (String(40)) holds
_ID_TAIL: Final = re.compile("[A-Za-z0-9_-]+")  # base64url, and hex, which it includes


class _RandomPool(threading.local):
    """Bytes from the OS's CSPRNG, fetched a page at a time. A syscall per id cost
    identify ~2 µs per id on this VM (benchmarks/identify.py); slicing a page costs a
    tenth of that. Per thread, so no two threads are handed the same bytes, and emptied
    in a forked child, so no two processes are either."""

    def __init__(self) -> None:
        self.buffer = b""
        self.offset = 0


_POOL = _RandomPool()


def _forget_pool() -> None:
    _POOL.buffer, _POOL.offset = b"", 0


os.register_at_fork(after_in_child=_forget_pool)


def random_bytes(count: int) -> bytes:
    """``count`` bytes as unpredictable as ``os.urandom(count)``: they are its bytes."""
    pool = _POOL
    end = pool.offset + count
    if end > len(pool.buffer):
        pool.buffer, pool.offset, end = os.urandom(max(_POOL_BYTES, count)), 0, count
    chunk = pool.buffer[pool.offset : end]
    pool.offset = end
    return chunk


def new_id(prefix: str, nbytes: int = 12) -> str:
    """``prefix_`` + URL-safe random text: unguessable, so an id is never a credential
    an attacker can enumerate."""
    return f"{prefix}_{secrets.token_urlsafe(nbytes)}"


def new_row_id(prefix: str, nbytes: int = 12) -> str:
    """:func:`new_id` led by the creation time in milliseconds, for rows created at
    request rates (contacts, visitors, messages).

    Random keys land on a random leaf of each index that holds them, so a commit of a
    group of inserts writes one page per row and per index; keys that grow with time
    land on the same rightmost leaf, which the commit writes once. The random part is
    the same length as ever, so the id is just as unguessable; it only tells when it
    was made.
    """
    return f"{prefix}_{time.time_ns() // 1_000_000:011x}{b64url(random_bytes(nbytes))}"


def well_formed_id(text: str, prefix: str) -> bool:
    """Whether ``text`` could be an id :func:`new_id` or :func:`new_row_id` made with
    ``prefix``: ``prefix_`` then base64url text, no longer than an id column.

    A lookup by anything else answers "not found" without a query, so an id from a
    request path that no row can have (10 kB, NUL, another alphabet) never becomes a
    bind parameter.
    """
    return (
        len(text) <= MAX_ID_CHARS
        and text.startswith(prefix)
        and text[len(prefix) : len(prefix) + 1] == "_"
        and _ID_TAIL.fullmatch(text, len(prefix) + 1) is not None
    )


def new_identity_secret() -> str:
    # The "css_" prefix marks it as text to use as typed (never decode it) and lets
    # secret scanners recognise a leaked one.
    return f"css_{secrets.token_urlsafe(32)}"


def new_api_key() -> str:
    return f"csk_{secrets.token_urlsafe(32)}"


def token_digest(token: str) -> str:
    """What is stored for a bearer credential: its SHA-256, never the credential."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
