"""Request durations per route template, for ``countersign_request_duration_seconds``.

The label is the template the request matched (``/v1/widget/conversations/{conversation_id}
/messages``), never the raw path, so ids cannot grow the number of series; a request
that matched nothing is counted under ``unmatched``. Identify is answered before the
middleware (``identify/fast_path.py``) and observes itself with :func:`observe`.
"""

from __future__ import annotations

import time
from typing import Final

from prometheus_client.metrics import Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..metrics import REQUEST_SECONDS

UNMATCHED: Final = "unmatched"

_children: dict[tuple[str, str, int], Histogram] = {}


def observe(route: str, method: str, status: int, seconds: float) -> None:
    # labels() builds a key and takes a lock on every call: the child, once per series.
    key = (route, method, status)
    child = _children.get(key)
    if child is None:
        child = _children[key] = REQUEST_SECONDS.labels(route, method, str(status))
    child.observe(seconds)


class RequestMetrics:
    """Times each HTTP request, from its arrival to the end of its response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = scope.get("route")
            template = getattr(route, "path_format", None) or getattr(route, "path", None)
            elapsed = time.perf_counter() - started
            observe(str(template or UNMATCHED), scope["method"], status, elapsed)
