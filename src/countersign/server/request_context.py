"""What is known about the request being served, for its log lines: its id and app.

The request id is the caller's ``X-Request-Id`` when it is a plain token (so a proxy's
or the customer's backend's id follows the request through), else a new one; it is
sent back as ``X-Request-Id`` and is on every log line written while the request is
served. The app is noted by whatever learns it (the session, the API key, identify's
body). One mutable holder per request, set by the middleware, so what a handler notes
is seen by the middleware whatever context copies happened in between.
"""

from __future__ import annotations

import itertools
import re
import secrets
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Final

from starlette.types import Scope

REQUEST_ID_HEADER: Final = b"x-request-id"
_WELL_FORMED: Final = re.compile(rb"[A-Za-z0-9._:\-]{8,64}")


@dataclass(slots=True)
class RequestInfo:
    request_id: str
    app_id: str | None = None


current: ContextVar[RequestInfo | None] = ContextVar("countersign_request", default=None)


# A new id is this process's random prefix and a count: unique across processes and
# nodes like a random one, at a fifth of token_hex's cost on every request.
_PREFIX: Final = secrets.token_hex(6)
_numbers = itertools.count(1)


def request_id_for(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER and _WELL_FORMED.fullmatch(value):
            return str(value.decode("ascii"))
    return f"{_PREFIX}{next(_numbers):x}"


def begin(scope: Scope) -> RequestInfo:
    info = RequestInfo(request_id_for(scope))
    current.set(info)
    return info


def note_app(app_id: str) -> None:
    """The app this request acts for, once it is known (and trusted: an API key's, a
    session's, or an identify body's app that exists)."""
    info = current.get()
    if info is not None:
        info.app_id = app_id
