"""The addresses Countersign mails from and receives at, and what a header may carry.

Every header value that came from a user (a display name, a subject) goes through
:func:`header_text`: control characters, CR and LF included, become spaces, so no
user can add a header line (``Bcc:``) to an email.
"""

from __future__ import annotations

import re
from email.headerregistry import Address
from email.utils import getaddresses, parseaddr
from typing import Final

MAX_HEADER_CHARS: Final = 200
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]+")
_LOCAL: Final = re.compile(r"(reply|support)\+([A-Za-z0-9_.\-]{1,60})", re.IGNORECASE)


def header_text(value: str, limit: int = MAX_HEADER_CHARS) -> str:
    """``value`` fit for one header line: no control characters, at most ``limit``."""
    return " ".join(_CONTROL.sub(" ", value).split())[:limit]


def reply_address(token: str, domain: str) -> str:
    return f"reply+{token}@{domain}"


def support_address(app_id: str, domain: str) -> str:
    return f"support+{app_id}@{domain}"


def sender(display_name: str, mail_from: str) -> Address:
    """``Name <mail_from>``, the name made safe for a header."""
    _, address = parseaddr(mail_from)
    local, _, domain = (address or mail_from).rpartition("@")
    return Address(display_name=header_text(display_name), username=local, domain=domain)


def recipient(address: str) -> Address:
    local, _, domain = address.rpartition("@")
    return Address(username=local, domain=domain)


def plain_address(value: str | None) -> str | None:
    """The address of a From line (``Name <a@b>`` → ``a@b``, lower-cased), or None."""
    if not value:
        return None
    _, address = parseaddr(header_text(value, 998))
    if "@" not in address or len(address) > 320:
        return None
    return address.strip().lower()


def our_recipient(values: list[str], domain: str) -> tuple[str, str] | None:
    """``("reply", token)`` or ``("support", app_id)`` for the first of ``values``
    (envelope or header addresses) at ``domain``, or None."""
    for _, address in getaddresses([header_text(v, 4000) for v in values]):
        local, _, at = address.rpartition("@")
        if at.lower() != domain:
            continue
        found = _LOCAL.fullmatch(local)
        if found is not None:
            return found.group(1).lower(), found.group(2)
    return None
