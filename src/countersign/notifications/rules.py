"""What a notification may say and to whom it may go (SPEC 13), checked before any row
is written, so a refused send creates nothing."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final
from urllib.parse import urlsplit

from ..storage.errors import Invalid

MAX_RECIPIENTS: Final = 1_000
MAX_ACTIONS: Final = 2
MAX_LABEL_CHARS: Final = 64
MAX_ACTION_URL_CHARS: Final = 2_000
# A category is a name a program writes and a URL or a CSS class may carry: no spaces,
# no case to fold. Its label is what a person reads.
CATEGORY_PATTERN: Final = "^[a-z0-9][a-z0-9_.-]{0,63}$"
_CATEGORY: Final = re.compile(CATEGORY_PATTERN)
# What absolute_http_url accepts, for the OpenAPI document: http(s), a host part, and no
# white space or control character (the escapes read the same in ECMA and Python). The
# document leaves out bracketed (IPv6) hosts, whose own rules no pattern spells.
_NOT_URL: Final = r"\s\u0000-\u001F\u007F\[\]"
ABSOLUTE_URL_PATTERN: Final = rf"^[Hh][Tt][Tt][Pp][Ss]?://[^/?#{_NOT_URL}][^{_NOT_URL}]*$"


class InvalidNotification(Invalid):
    code = "invalid_request"


class UnknownCategory(Invalid):
    code = "unknown_category"


def category_name(value: str) -> str:
    if not _CATEGORY.fullmatch(value):
        raise InvalidNotification(
            "category must be 1-64 of a-z, 0-9, '_', '.', '-', starting with a letter or digit"
        )
    return value


def absolute_http_url(value: str, field: str) -> str:
    """``value`` if it is an absolute http(s) URL: an action opens it in the user's
    browser, so ``javascript:`` and the like must never reach one, and a relative URL
    would resolve against whichever page embeds the widget."""
    try:
        parts = urlsplit(value)
    except ValueError:  # "http://[x": an IPv6 host that is not one
        raise InvalidNotification(f"{field} must be an absolute http:// or https:// URL") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise InvalidNotification(f"{field} must be an absolute http:// or https:// URL")
    if len(value) > MAX_ACTION_URL_CHARS or any(ch.isspace() or ord(ch) < 32 for ch in value):
        raise InvalidNotification(f"{field} must be a URL without spaces or control characters")
    return value


def actions(pairs: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    if len(pairs) > MAX_ACTIONS:
        raise InvalidNotification(f"at most {MAX_ACTIONS} actions")
    checked = []
    for index, (label, url) in enumerate(pairs):
        if not label.strip() or len(label) > MAX_LABEL_CHARS:
            raise InvalidNotification(
                f"actions[{index}].label must be 1-{MAX_LABEL_CHARS} characters"
            )
        checked.append((label, absolute_http_url(url, f"actions[{index}].url")))
    return tuple(checked)


def recipients(user_ids: Sequence[str]) -> list[str]:
    """The user ids of one send: 1 to 1,000 of them, each once."""
    if not user_ids:
        raise InvalidNotification("user_ids must name at least one user")
    if len(user_ids) > MAX_RECIPIENTS:
        raise InvalidNotification(f"at most {MAX_RECIPIENTS} user_ids in one request")
    if len(set(user_ids)) != len(user_ids):
        # Refused rather than merged: a repeated id is a bug in the caller's list, and
        # silently sending once would hide it.
        raise InvalidNotification("user_ids must not repeat a user")
    return list(user_ids)
