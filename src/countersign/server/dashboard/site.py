"""What the server mounts: the dashboard's router and its static files.

In ``server/app.py``::

    app.include_router(dashboard_site.router)
    app.mount(dashboard_site.STATIC_PREFIX, dashboard_site.static_files(), name="dashboard")
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .rendering import STATIC_DIR, STATIC_PREFIX
from .security import SECURITY_HEADERS
from .views import (
    attachments,
    contacts,
    identity,
    inbox,
    install,
    join,
    live,
    log,
    login,
    mail,
    notify,
    privacy,
    public_keys,
    team,
    webhooks,
    workflow,
)

__all__ = ["STATIC_PREFIX", "router", "static_files"]

router = APIRouter()
for view in (
    login,
    join,
    inbox,
    workflow,
    notify,
    contacts,
    privacy,
    identity,
    public_keys,
    install,
    log,
    webhooks,
    mail,
    team,
    live,
    attachments,
):
    router.include_router(view.router)


class _Hardened:
    """Static files with the dashboard's security headers; URLs carry a content hash
    (``?v=``), so they may be cached for a day."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_hardened(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                headers.append((b"cache-control", b"public, max-age=86400"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_hardened)


def static_files() -> ASGIApp:
    return _Hardened(StaticFiles(directory=STATIC_DIR))
