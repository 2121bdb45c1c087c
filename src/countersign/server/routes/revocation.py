"""``POST /v1/users/{user_id}/revoke`` (SPEC 15): one user's credentials, revoked.

For a leaked hash (or token) of one user, without rotating everyone's secret: every
session of that user ends at once on every node, their static hash is refused from
then on (``user_requires_token``), and only tokens issued after now verify.
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Request
from starlette.responses import Response

from ..auth import ApiAppDep
from ..errors import ApiError
from ..identifier_field import IdentifierPath, identifier_field
from ..path_convertors import ANY_TEXT
from ..state import StateDep
from ..user_revocation import revoke_user
from .conversations import json_response

router = APIRouter(prefix="/v1", tags=["server"])

_PREFIX: Final = "/v1/users/"
_SUFFIX: Final = "/revoke"


@router.post(
    f"/users/{{user_id:{ANY_TEXT}}}/revoke",
    summary="Revoke one user: end their sessions, refuse their hash and older tokens",
)
async def revoke(
    user_id: IdentifierPath, request: Request, app_id: ApiAppDep, state: StateDep
) -> Response:
    # Any text, slashes too (the client escapes them, the path arrives decoded), read
    # from the decoded path itself: the route's "$" also matches before a final newline.
    path = request.scope["path"]
    if not (path.startswith(_PREFIX) and path.endswith(_SUFFIX)):
        raise ApiError(404, "not_found", "no such route")
    user = identifier_field(path[len(_PREFIX) : -len(_SUFFIX)], "user_id")
    revoked = await revoke_user(state, app_id, user, actor="server API")
    return json_response(revoked.as_dict())
