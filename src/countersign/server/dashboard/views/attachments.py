"""The team's side of attachments (SPEC 11): uploading from the reply box and seeing
any file of the app's conversations. Operators see every file of the app; the bytes
go out with the same headers as the widget's route (never rendered as a page)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ....storage import attachments
from ...routes.attachments import serve, store_upload
from ...state import StateDep
from ..auth import AppDep, OperatorDep
from ..errors import NotFound
from ..route import dashboard_router

router = dashboard_router()


@router.post("/dashboard/apps/{app_id}/uploads")
async def upload(request: Request, state: StateDep, operator: OperatorDep, app: AppDep) -> Response:
    """A file for the team's next reply (``contact_id`` NULL: the team's)."""
    del operator  # the dependency is the check: a logged-in operator
    return await store_upload(state, request, app.id, None)


@router.get("/dashboard/apps/{app_id}/attachments/{attachment_id}")
async def attachment(
    attachment_id: str, state: StateDep, operator: OperatorDep, app: AppDep
) -> Response:
    del operator
    database = state.backend.database
    row: Any = await database.read(lambda c: attachments.find(c, app.id, attachment_id))
    if row is None:
        raise NotFound("This app has no such attachment.")
    return await serve(database, row)
