"""Random public identifiers and credentials, each with a prefix that says what it is."""

from __future__ import annotations

import hashlib
import secrets


def new_id(prefix: str, nbytes: int = 12) -> str:
    """``prefix_`` + URL-safe random text: unguessable, so an id is never a credential
    an attacker can enumerate."""
    return f"{prefix}_{secrets.token_urlsafe(nbytes)}"


def new_identity_secret() -> str:
    # The "css_" prefix marks it as text to use as typed (never decode it) and lets
    # secret scanners recognise a leaked one.
    return f"css_{secrets.token_urlsafe(32)}"


def new_api_key() -> str:
    return f"csk_{secrets.token_urlsafe(32)}"


def new_session_token() -> str:
    return f"cst_{secrets.token_urlsafe(32)}"


def token_digest(token: str) -> str:
    """What is stored for a bearer credential: its SHA-256, never the credential."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
