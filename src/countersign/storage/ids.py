"""Random public identifiers and credentials, each with a prefix that says what it is."""

from __future__ import annotations

import hashlib
import secrets
import time


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
    return f"{prefix}_{time.time_ns() // 1_000_000:011x}{secrets.token_urlsafe(nbytes)}"


def new_identity_secret() -> str:
    # The "css_" prefix marks it as text to use as typed (never decode it) and lets
    # secret scanners recognise a leaked one.
    return f"css_{secrets.token_urlsafe(32)}"


def new_api_key() -> str:
    return f"csk_{secrets.token_urlsafe(32)}"


def token_digest(token: str) -> str:
    """What is stored for a bearer credential: its SHA-256, never the credential."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
