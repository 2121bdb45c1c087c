"""CORS for the widget API, answered per app.

A preflight carries no body, so it cannot name the app: it is answered for any origin,
and the real request is then checked against the app's allowed origins (identify) or
the session's app (everything else), which answer 403 ``origin_not_allowed``. The
widget authenticates with a bearer token, never a cookie, so credentials are not
allowed and no other origin can ride on a user's session.
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

WIDGET_PREFIX = "/v1/widget/"
_PREFLIGHT_HEADERS = {
    # PUT: the user's notification preferences (PUT /v1/widget/preferences).
    "access-control-allow-methods": "GET, POST, PUT, OPTIONS",
    "access-control-allow-headers": "authorization, content-type",
    "access-control-max-age": "600",
}


def allow_origin(headers: MutableHeaders, origin: str) -> None:
    """Let the page at ``origin`` read this answer (the app's own check already ran)."""
    headers["access-control-allow-origin"] = origin
    headers.add_vary_header("Origin")


class WidgetCors:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(WIDGET_PREFIX):
            await self.app(scope, receive, send)
            return
        origin = Headers(scope=scope).get("origin")
        if origin is None:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            headers = [(b"access-control-allow-origin", origin.encode("latin-1"))]
            headers += [(b"vary", b"Origin")]
            headers += [(k.encode(), v.encode()) for k, v in _PREFLIGHT_HEADERS.items()]
            await send({"type": "http.response.start", "status": 204, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                allow_origin(MutableHeaders(scope=message), origin)
            await send(message)

        await self.app(scope, receive, send_with_cors)
