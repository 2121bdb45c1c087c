"""Operator passwords: argon2id hashes.

argon2id at the library's RFC 9106 "low memory" profile (64 MiB, 3 passes) costs
about 0.15 s per check on a small machine: cheap for one login, ruinous for a guesser
with a stolen database. The server runs these functions only through
``server.dashboard.password_gate.PasswordGate``: off the event loop, so a login never stalls
everyone else's requests, and a bounded number at once, so a burst of logins cannot
take the memory of the machine. The CLI calls them directly.
"""

from __future__ import annotations

import functools
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD_CHARS: Final = 10
MAX_PASSWORD_CHARS: Final = 1024

HASHER = PasswordHasher()


class WeakPassword(ValueError):
    """A password the dashboard refuses to store; the message says why."""


def check_strength(password: str, email: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise WeakPassword(f"a password has at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise WeakPassword(f"a password has at most {MAX_PASSWORD_CHARS} characters")
    if password.strip().lower() == email.strip().lower():
        raise WeakPassword("the password must not be the email address")


def hash_password(password: str) -> str:
    return HASHER.hash(password)


@functools.cache
def _dummy_hash() -> str:
    # Checked when the email is unknown, so a wrong email costs as long as a wrong
    # password and the timing does not tell which operators exist.
    return hash_password("not anyone's password: for equal timing only")


def check_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; ``None`` (no such operator) is always ``False``."""
    if len(password) > MAX_PASSWORD_CHARS:
        return False
    try:
        return HASHER.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the stored hash used weaker parameters than the current ones."""
    try:
        return HASHER.check_needs_rehash(password_hash)
    except InvalidHashError:
        return False
