"""``POST /v1/users/{user_id}/revoke`` (SPEC 15): one user's credentials, revoked.

For a leaked hash (or token) of one user, without rotating everyone's secret: every
session of that user ends at once on every node, their static hash is refused from
then on (``user_requires_token``), and only tokens issued after now verify.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from ..auth import ApiAppDep
from ..identifier_field import IdentifierPath, identifier_field
from ..state import StateDep
from ..user_revocation import revoke_user
from .conversations import json_response

router = APIRouter(prefix="/v1", tags=["server"])


@router.post(
    "/users/{user_id}/revoke",
    summary="Revoke one user: end their sessions, refuse their hash and older tokens",
)
async def revoke(user_id: IdentifierPath, app_id: ApiAppDep, state: StateDep) -> Response:
    user = identifier_field(user_id, "user_id")
    revoked = await revoke_user(state, app_id, user, actor="server API")
    return json_response(revoked.as_dict())
