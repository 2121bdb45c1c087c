"""Rendering a page with what every page shows: who is logged in, the app picker, the
current app (and its ``off``-mode warning) and the CSRF token for its forms."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse

from ...storage import apps
from ...storage.operators import OperatorRecord
from ...vocabulary.clock import utcnow
from ..state import ServerState
from .rendering import render
from .security import SESSION_COOKIE, cookie_token, csrf_token


async def page(
    request: Request,
    state: ServerState,
    template: str,
    *,
    operator: OperatorRecord,
    app: apps.AppRecord | None = None,
    section: str = "",
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    every_app = await state.backend.database.run(apps.list_apps)
    token = cookie_token(request, SESSION_COOKIE)
    base = {
        "operator": operator,
        "app": app,
        "apps": every_app,
        "section": section,
        "csrf": csrf_token(token) if token else "",
        "now": utcnow(),
    }
    return render(template, {**base, **context}, status=status, headers=headers)
