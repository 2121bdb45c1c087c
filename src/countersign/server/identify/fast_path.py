"""``POST /v1/widget/identify`` answered ahead of the framework.

Identify is the one route every page view of every customer calls, and the budget of
SPEC section 9 holds it to a fraction of a bare ASGI app's cost. Going through the
middleware stack and the router costs it ~25 % (exception middlewares, an exit stack,
routing over every route, send wrappers: ``benchmarks/identify.py``). The app's
class answers that one exact path and method itself, before any middleware, with what
those layers would have added: the one error shape for every failure (500 included,
logged) and the widget's CORS headers. Every other request, and every other method on this path,
goes through the app as usual; the route stays in the app for the OpenAPI document.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Final

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from .. import request_context
from ..cors import allow_origin
from ..errors import ApiError, api_error_response, client_gone_response, error_response
from ..request_context import REQUEST_ID_HEADER
from ..request_observer import finish
from .handler import identify

IDENTIFY_PATH: Final = "/v1/widget/identify"

log = logging.getLogger("countersign.server")


class CountersignAPI(FastAPI):
    """FastAPI, except that identify is answered before the middleware stack."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == IDENTIFY_PATH and scope["method"] == "POST":
            await answer_identify(self, scope, receive, send)
            return
        await super().__call__(scope, receive, send)


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


class _IdentifyRequest(Request):
    @property
    def headers(self) -> Headers:
        if not hasattr(self, "_headers"):
            self._headers = _IndexedHeaders(self.scope)
        return self._headers


async def answer_identify(app: FastAPI, scope: Scope, receive: Receive, send: Send) -> None:
    started = time.perf_counter()
    info = request_context.begin(scope)
    scope["app"] = app  # as Starlette sets it: request.app
    request = _IdentifyRequest(scope, receive)
    response: Response
    try:
        response = await identify(request)
    except ApiError as error:
        response = api_error_response(error)
    except ClientDisconnect:
        response = client_gone_response()
    except Exception:
        log.exception("identify failed")
        response = error_response(500, "internal_error", "the server failed; try again")
    origin = request.headers.get("origin")
    if origin is not None:
        allow_origin(response.headers, origin)
    response.raw_headers.append((REQUEST_ID_HEADER, info.request_id.encode()))
    await response(scope, receive, send)
    finish(scope, IDENTIFY_PATH, response.status_code, started)
