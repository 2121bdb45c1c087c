"""The widget's hot routes answered ahead of the framework.

``POST /v1/widget/identify`` is called by every page view of every customer, and
``GET /v1/widget/conversations`` and ``/v1/widget/notifications`` by every widget
that opens; the budgets of SPEC section 9 hold them to a fraction of a bare ASGI
app's cost. Going through the middleware stack, the router and FastAPI's dependency
solving costs identify ~25 % and a session read more than half of its time
(exception middlewares, an exit stack, routing over every route, send wrappers, the
dependency graph and query validation: ``benchmarks/identify.py``).

The app's class answers those exact paths and methods itself, before any middleware,
with what those layers would have added: the one error shape for every failure (500
included, logged), the widget's CORS headers, the request id and the request
metrics. A read is answered here only in its plain shape (no query, or
``?limit=N``); any other query string goes through the app, so its validation and
errors are exactly the framework's. The routes stay in the app for the OpenAPI
document and for every other request.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from . import request_context
from .cors import allow_origin
from .errors import ApiError, api_error_response, client_gone_response, error_response
from .identify.handler import identify
from .request_context import REQUEST_ID_HEADER
from .request_observer import finish
from .routes import conversations, notifications_widget
from .routes.conversations import LIST_LIMIT_MAX

IDENTIFY_PATH: Final = "/v1/widget/identify"
CONVERSATIONS_PATH: Final = "/v1/widget/conversations"
NOTIFICATIONS_PATH: Final = "/v1/widget/notifications"
DEFAULT_LIST_LIMIT: Final = 50
_PLAIN_LIMIT: Final = re.compile(rb"limit=([0-9]{1,3})")

log = logging.getLogger("countersign.server")

Handler = Callable[[Request], Awaitable[Response]]
PageReader = Callable[[Request, int], Awaitable[Response]]

#: The widget's reads answered here in their plain shape, by path.
READS: Final[dict[str, PageReader]] = {
    CONVERSATIONS_PATH: conversations.list_for_session,
    NOTIFICATIONS_PATH: notifications_widget.list_for_session,
}


class CountersignAPI(FastAPI):
    """FastAPI, except that the widget's hot routes are answered before the
    middleware stack."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path, method = scope["path"], scope["method"]
            if path == IDENTIFY_PATH and method == "POST":
                await answer_ahead(self, scope, receive, send, IDENTIFY_PATH, identify)
                return
            reader = READS.get(path) if method == "GET" else None
            if reader is not None:
                limit = plain_limit(scope["query_string"])
                if limit is not None:
                    handler = _first_page(reader, limit)
                    await answer_ahead(self, scope, receive, send, path, handler)
                    return
        await super().__call__(scope, receive, send)


def plain_limit(query_string: bytes) -> int | None:
    """The ``limit`` of a read's plain query (empty, or ``limit=N`` in range), else None:
    that request takes the framework's path and its validation."""
    if not query_string:
        return DEFAULT_LIST_LIMIT
    plain = _PLAIN_LIMIT.fullmatch(query_string)  # ASCII digits: nothing to decode
    if plain is None:
        return None
    limit = int(plain.group(1))
    return limit if 1 <= limit <= LIST_LIMIT_MAX else None


def _first_page(reader: PageReader, limit: int) -> Handler:
    async def handler(request: Request) -> Response:
        return await reader(request, limit)

    return handler


class _IndexedHeaders(Headers):
    """Headers whose lookups are one dict lookup. Starlette's scan the raw list, and a
    missing header (Origin, from a server-side caller) costs a raised and caught
    KeyError; identify looks up four, which came to ~7 µs a request. The first value
    of a repeated header wins, as in Starlette's."""

    def __init__(self, scope: Scope) -> None:
        super().__init__(scope=scope)
        self._first: dict[str, str] = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in reversed(scope["headers"])
        }

    def __getitem__(self, key: str) -> str:
        return self._first[key.lower()]

    def get(self, key: str, default: Any = None) -> Any:
        return self._first.get(key.lower(), default)


class _LeanRequest(Request):
    @property
    def headers(self) -> Headers:
        if not hasattr(self, "_headers"):
            self._headers = _IndexedHeaders(self.scope)
        return self._headers


async def answer_ahead(
    app: FastAPI,
    scope: Scope,
    receive: Receive,
    send: Send,
    route_path: str,
    handler: Handler,
) -> None:
    """``handler``'s answer, with what the middleware stack adds to every answer."""
    started = time.perf_counter()
    info = request_context.begin(scope)
    scope["app"] = app  # as Starlette sets it: request.app
    request = _LeanRequest(scope, receive)
    response: Response
    try:
        response = await handler(request)
    except ApiError as error:
        response = api_error_response(error)
    except ClientDisconnect:
        response = client_gone_response()
    except Exception:
        log.exception("%s failed", route_path)
        response = error_response(500, "internal_error", "the server failed; try again")
    origin = request.headers.get("origin")
    if origin is not None:
        allow_origin(response.headers, origin)
    response.raw_headers.append((REQUEST_ID_HEADER, info.request_id.encode()))
    await response(scope, receive, send)
    finish(scope, route_path, response.status_code, started)
