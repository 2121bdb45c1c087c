"""The server API (customer backend → server), SPEC section 4."""

from __future__ import annotations

from typing import Any

import msgspec
from fastapi import APIRouter, Request
from sqlalchemy.exc import IntegrityError
from starlette.responses import Response

from ...core import InvalidIdentifier, identifier_text
from ...storage import identities
from ...storage.models import utcnow
from ..auth import ApiAppDep
from ..body import read_model
from ..errors import ApiError
from ..state import StateDep

router = APIRouter(prefix="/v1", tags=["server"])


class UserBody(msgspec.Struct, forbid_unknown_fields=True):
    email: str | None = None
    name: str | None = None
    attributes: dict[str, Any] | None = None


@router.put(
    "/users/{user_id}",
    summary="Create or update a verified user with trusted attributes",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": msgspec.json.schema(UserBody)}},
        }
    },
)
async def put_user(user_id: str, request: Request, app_id: ApiAppDep, state: StateDep) -> Response:
    body = await read_model(request, UserBody, state.settings.max_body_bytes)
    try:
        user = identifier_text(user_id)
        email = identifier_text(body.email) if body.email is not None else None
    except InvalidIdentifier as error:
        raise ApiError(422, "invalid_identifier", str(error)) from None
    if body.name is not None and len(body.name) > 255:
        raise ApiError(422, "invalid_request", "name is longer than 255 characters")
    try:
        contact = await state.backend.database.run(
            lambda c: identities.upsert_verified_user(
                c,
                app_id,
                user,
                email=email,
                name=body.name,
                attributes=body.attributes,
                now=utcnow(),
            )
        )
    except IntegrityError:
        raise ApiError(
            409, "email_taken", "another verified user of this app has this email"
        ) from None
    return Response(msgspec.json.encode(contact.as_dict()), media_type="application/json")
