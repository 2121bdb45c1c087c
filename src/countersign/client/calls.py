"""A server API call as data, and when and how long to wait before repeating one.

Both clients (``sync.py``, ``aio.py``) send :class:`Call` objects and share these rules,
so a route is described once (``resources.py``) and retried the same way by both.
"""

from __future__ import annotations

import random
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Final

import httpx2

from .errors import CountersignError

MAX_ATTEMPTS: Final = 4
BASE_DELAY: Final = 0.25
MAX_DELAY: Final = 8.0
RETRY_STATUSES: Final = frozenset({429, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class Call:
    method: str
    path: str
    json: Any = None
    params: dict[str, Any] = field(default_factory=dict)
    # A repeat cannot do twice what was asked: a read, a PUT, or a post with a key.
    idempotent: bool = False
    file: tuple[str, bytes] | None = None  # (name, bytes): sent as multipart field "file"

    @property
    def files(self) -> dict[str, tuple[str, bytes]] | None:
        return None if self.file is None else {"file": self.file}

    @property
    def query(self) -> dict[str, Any]:
        return {name: value for name, value in self.params.items() if value is not None}


def segment(value: str) -> str:
    """A path segment: every character but the unreserved ones escaped (``/`` too)."""
    return urllib.parse.quote(value, safe="")


def delay(call: Call, attempt: int, status: int | None, retry_after: float | None) -> float | None:
    """Seconds to wait before attempt ``attempt + 1``, or None not to retry.

    ``status`` None: the connection failed. A 429 was refused before anything was done,
    so it is always safe to repeat; anything else only when the call is idempotent."""
    if attempt >= MAX_ATTEMPTS:
        return None
    if status is not None and status not in RETRY_STATUSES:
        return None
    if status != 429 and not call.idempotent:
        return None
    if retry_after is not None:
        return min(retry_after, MAX_DELAY)
    backoff = min(MAX_DELAY, BASE_DELAY * 2 ** (attempt - 1))
    return float(backoff * (0.5 + random.random() / 2))  # noqa: S311 (jitter, not a secret)


def settle(call: Call, attempt: int, response: httpx2.Response) -> dict[str, Any] | float:
    """The answer's document, or the seconds to wait before trying again; raises
    :class:`CountersignError` for an error answer that is not to be retried."""
    if response.status_code < 400:
        document: dict[str, Any] = response.json()
        return document
    retry_after = retry_after_of(response.headers.get("retry-after"))
    wait = delay(call, attempt, response.status_code, retry_after)
    if wait is None:
        try:
            body = response.json()
        except ValueError:
            body = None
        raise CountersignError.from_answer(response.status_code, body, retry_after)
    return wait


def retry_after_of(header: str | None) -> float | None:
    if header is None:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        return None
