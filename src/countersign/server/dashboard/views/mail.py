"""Email in the dashboard: an app's mail log, and each operator's own email switch."""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ....storage import mail_outbox, mail_settings
from ...state import StateDep
from ..auth import AppDep, OperatorDep
from ..errors import BadForm
from ..pages import page
from ..route import dashboard_router, form_of

router = dashboard_router()

PAGE_SIZE: Final = 100
PROFILE_PATH: Final = "/dashboard/profile"


@router.get("/dashboard/apps/{app_id}/mail")
async def mail_log(
    request: Request, state: StateDep, operator: OperatorDep, app: AppDep
) -> Response:
    def load(connection: Connection) -> dict[str, Any]:
        return {
            "entries": mail_outbox.mail_log(connection, app.id, PAGE_SIZE),
            "email_delay": mail_settings.email_delay_of(connection, app.id),
        }

    settings = state.settings
    return await page(
        request, state, "mail.html", operator=operator, app=app, section="mail",
        relay=bool(settings.smtp_url), inbound_domain=settings.inbound_domain,
        **(await state.backend.database.run(load)),
    )  # fmt: skip


@router.get(PROFILE_PATH)
async def profile(request: Request, state: StateDep, operator: OperatorDep) -> Response:
    wants = await state.backend.database.run(
        lambda c: mail_settings.operator_wants_mail(c, operator.id)
    )
    return await page(
        request, state, "profile.html", operator=operator, section="profile", wants_mail=wants
    )


@router.post(PROFILE_PATH + "/email")
async def set_email(request: Request, state: StateDep, operator: OperatorDep) -> Response:
    """``email_notifications``: ``on`` or ``off``."""
    wanted = form_of(request).get("email_notifications", "")
    if wanted not in ("on", "off"):
        raise BadForm("email_notifications must be on or off")
    await state.backend.database.run(
        lambda c: mail_settings.set_operator_mail(c, operator.id, wanted == "on")
    )
    return RedirectResponse(PROFILE_PATH, status_code=303)
