"""Each HTTP request observed: its id, its duration per route template, its access line.

The duration goes to ``countersign_request_duration_seconds`` under the template the
request matched (``/v1/widget/conversations/{conversation_id}/messages``), never the
raw path, so ids cannot grow the number of series; a request that matched nothing is
``unmatched``. Every response carries ``X-Request-Id`` (request_context.py). With
``--log-format json --access-log`` each request is one ``countersign.access`` line with
its method, route, redacted path, status and duration; in the plain format uvicorn
writes the access line. Identify is answered before the middleware
(``server/ahead.py``) and calls :func:`finish` itself.
"""

from __future__ import annotations

import logging
import time
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..metrics import request_durations
from . import request_context
from .access_log import redact_path
from .request_context import REQUEST_ID_HEADER, RequestInfo

UNMATCHED: Final = "unmatched"
access_log = logging.getLogger("countersign.access")


def finish(scope: Scope, route: str, status: int, started: float) -> None:
    """Count the request, and write its access line when that log is on."""
    seconds = time.perf_counter() - started
    request_durations.observe(route, scope["method"], status, seconds)
    if access_log.isEnabledFor(logging.INFO):
        path = scope["path"] + (
            "?" + scope["query_string"].decode("latin-1") if scope.get("query_string") else ""
        )
        access_log.info(
            "request",
            extra={
                "method": scope["method"],
                "route": route,
                "path": redact_path(path),
                "status": status,
                "duration_ms": round(seconds * 1000, 3),
            },
        )


def with_request_id(message: Message, info: RequestInfo) -> Message:
    """A response start with the request's ``X-Request-Id`` added."""
    headers = [*message.get("headers", ()), (REQUEST_ID_HEADER, info.request_id.encode())]
    return {**message, "headers": headers}


class RequestObserver:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        info = request_context.begin(scope)
        status = 500  # what the client gets if the app raises before answering

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = with_request_id(message, info)
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            route = scope.get("route")
            template = getattr(route, "path_format", None) or getattr(route, "path", None)
            finish(scope, str(template or UNMATCHED), status, started)
