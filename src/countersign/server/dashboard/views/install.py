"""The install guide and the hash checker. Owners only (it is set-up work).

The checker is ``static/hashcheck.js``: it computes HMAC-SHA256 with the browser's
WebCrypto and names the mistake, in the page. Its inputs have no ``name`` and sit in no
form, so nothing the operator types there is ever sent anywhere.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ....core import HINTS
from ...state import StateDep
from ..auth import AppDep, OwnerDep
from ..pages import page
from ..route import dashboard_router
from ..security import is_https
from ..snippets import SECRET_ENV, page_snippet, server_snippets, widget_tag

router = dashboard_router()


def public_origin(request: Request, state: StateDep) -> str:
    """This server as the browser reaches it (https behind a trusted TLS proxy)."""
    scheme = "https" if is_https(request, state.settings.trusted_proxies) else "http"
    host = request.headers.get("host") or f"{state.settings.host}:{state.settings.port}"
    return f"{scheme}://{host}"


@router.get("/dashboard/apps/{app_id}/install")
async def install(request: Request, state: StateDep, operator: OwnerDep, app: AppDep) -> Response:
    origin = public_origin(request, state)
    return await page(
        request,
        state,
        "install.html",
        operator=operator,
        app=app,
        section="install",
        origin=origin,
        tag=widget_tag(origin, app.id),
        page_code=page_snippet(origin, app.id, app.identifier),
        snippets=server_snippets(app.id, app.name),
        secret_env=SECRET_ENV,
        hints=dict(HINTS),
    )
