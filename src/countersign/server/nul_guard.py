"""Refuse NUL in request paths and query strings.

PostgreSQL cannot store or even compare text containing NUL, and SQLite truncates it
in places: an id like ``cnv_x%00`` would otherwise turn a lookup into a 500. NUL is
never part of a real id, so it is refused at the edge for every route at once.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import error_response


class NulGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and (
            "\x00" in scope["path"] or b"%00" in scope.get("query_string", b"")
        ):
            if scope["type"] == "http":
                response = error_response(400, "bad_request", "NUL is not allowed in a URL")
                await response(scope, receive, send)
            else:
                await send({"type": "websocket.close", "code": 4400})
            return
        await self.app(scope, receive, send)
