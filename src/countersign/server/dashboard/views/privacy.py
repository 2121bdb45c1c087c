"""A contact's privacy requests from the dashboard: export everything stored about them
as one JSON file, or erase it. Owners only, each behind the owner's password
(reauth.py), each written to the audit trail whether it went through or not.

The same capability answers ``GET /v1/users/{id}/export`` and ``DELETE /v1/users/{id}``
and the CLI; here the contact is named by its id, so an anonymous or unverified contact
can be exported or erased too. An erasure ends the contact's open streams on every node.
"""

from __future__ import annotations

import re

import anyio.to_thread
import msgspec
from starlette.requests import Request
from starlette.responses import Response

from .... import privacy
from ....vocabulary.clock import utcnow
from ...state import StateDep
from ..auth import AppDep, OwnerDep, audit
from ..errors import NotFound
from ..pages import page
from ..reauth import password_confirmed
from ..route import dashboard_router

router = dashboard_router()

_FILE_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


async def _result(
    request: Request,
    state: StateDep,
    operator: OwnerDep,
    app: AppDep,
    contact_id: str,
    *,
    erased: privacy.Erased | None = None,
    problem: str | None = None,
) -> Response:
    return await page(
        request,
        state,
        "privacy_result.html",
        operator=operator,
        app=app,
        section="contacts",
        status=403 if problem else 200,
        contact_id=contact_id,
        erased=erased,
        problem=problem,
    )


async def _refused(
    request: Request, state: StateDep, operator: OwnerDep, app: AppDep, action: str, target: str
) -> Response:
    await audit(request, state, operator, app.id, f"contact.{action}_refused", target)
    problem = f"Wrong password: nothing was {action}d, and the attempt is logged."
    return await _result(request, state, operator, app, target, problem=problem)


@router.post("/dashboard/apps/{app_id}/contacts/{contact_id}/export")
async def export_contact(
    contact_id: str, request: Request, state: StateDep, operator: OwnerDep, app: AppDep
) -> Response:
    if not await password_confirmed(request, state, operator):
        return await _refused(request, state, operator, app, "export", contact_id)
    subject = privacy.Subject(contact_id=contact_id)
    try:
        document = await state.backend.database.run(
            lambda c: privacy.export_user(c, app.id, subject, utcnow())
        )
    except privacy.ContactNotFound:
        raise NotFound("This app has no such contact.") from None
    await audit(request, state, operator, app.id, "contact.exported", contact_id)
    name = _FILE_NAME_UNSAFE.sub("_", contact_id)
    return Response(
        msgspec.json.encode(document),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="countersign-{name}.json"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/dashboard/apps/{app_id}/contacts/{contact_id}/erase")
async def erase_contact(
    contact_id: str, request: Request, state: StateDep, operator: OwnerDep, app: AppDep
) -> Response:
    if not await password_confirmed(request, state, operator):
        return await _refused(request, state, operator, app, "erase", contact_id)
    subject = privacy.Subject(contact_id=contact_id)
    actor = operator.email
    try:
        erased = await state.backend.database.run(
            lambda c: privacy.erase_user(c, app.id, subject, utcnow(), actor=actor)
        )
    except privacy.ContactNotFound:
        raise NotFound("This app has no such contact.") from None
    await anyio.to_thread.run_sync(state.backend.database.files.remove, erased.files)
    await state.broker.end_sessions(erased.ended)  # their streams close on every node
    return await _result(request, state, operator, app, contact_id, erased=erased)
