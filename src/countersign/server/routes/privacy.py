"""The server API's privacy routes: export everything about a user, or erase it."""

from __future__ import annotations

import anyio.to_thread
from fastapi import APIRouter, Request
from starlette.responses import Response

from ... import privacy
from ...vocabulary.clock import utcnow
from ..auth import ApiAppDep
from ..errors import documented_errors
from ..identifier_field import IdentifierPath, identifier_field
from ..path_convertors import ANY_TEXT, USER_ID
from ..state import StateDep
from .conversations import json_response

router = APIRouter(prefix="/v1", tags=["server"])
_UNKNOWN_USER = documented_errors({404: "user_not_found: no verified user with this id"})


@router.get(
    f"/users/{{user_id:{ANY_TEXT}}}/export",
    summary="Everything stored about a user, as one JSON document",
    responses=_UNKNOWN_USER,
)
async def export_user(user_id: IdentifierPath, app_id: ApiAppDep, state: StateDep) -> Response:
    user = identifier_field(user_id, "user_id")
    document = await state.backend.database.run(
        lambda c: privacy.export_user(c, app_id, user, utcnow())
    )
    return json_response(document)


@router.delete(
    f"/users/{{user_id:{USER_ID}}}",
    summary="Erase a user: their contact, conversations, notifications, events, sessions",
    responses=_UNKNOWN_USER,
)
async def erase_user(
    user_id: IdentifierPath, request: Request, app_id: ApiAppDep, state: StateDep
) -> Response:
    # As for PUT: the id as decoded from the path itself (see server_api.put_user).
    user = identifier_field(request.scope["path"].split("/v1/users/", 1)[1], "user_id")
    erased = await state.backend.database.run(
        lambda c: privacy.erase_user(c, app_id, user, utcnow(), actor="server API")
    )
    await anyio.to_thread.run_sync(state.backend.database.files.remove, erased.files)
    await state.broker.end_sessions(erased.ended)  # their streams close on every node
    return json_response(
        {"erased": True, "contact_id": erased.contact_id, "removed": erased.removed}
    )
