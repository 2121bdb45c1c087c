"""The server API (customer backend → server), SPEC section 4."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Request
from sqlalchemy.exc import IntegrityError
from starlette.responses import Response

from ...storage import contacts
from ...vocabulary.clock import utcnow
from ..auth import ApiAppDep
from ..body import read_model
from ..errors import ApiError, documented_errors
from ..identifier_field import IdentifierPath, IdentifierText, identifier_field
from ..openapi import json_body
from ..path_convertors import USER_ID
from ..state import StateDep
from ..text import MAX_NAME_CHARS, json_meta, storable_json, storable_text, text_meta

router = APIRouter(prefix="/v1", tags=["server"])


class UserBody(msgspec.Struct, forbid_unknown_fields=True):
    email: IdentifierText | None = None
    name: Annotated[str, text_meta(MAX_NAME_CHARS)] | None = None
    attributes: Annotated[dict[str, Any], json_meta(16_000)] | None = None


@router.put(
    f"/users/{{user_id:{USER_ID}}}",
    summary="Create or update a verified user with trusted attributes",
    openapi_extra=json_body(UserBody),
    responses=documented_errors(
        {409: "email_taken: another verified user of this app has this email"}
    ),
)
async def put_user(
    user_id: IdentifierPath, request: Request, app_id: ApiAppDep, state: StateDep
) -> Response:
    body = await read_model(request, UserBody, state.settings.max_body_bytes)
    # The route's pattern ends in "$", which also matches before a final newline, so
    # "user%0A" would arrive as "user": read the id from the decoded path itself.
    user_id = request.scope["path"].split("/v1/users/", 1)[1]
    user = identifier_field(user_id, "user_id")
    email = identifier_field(body.email, "email") if body.email is not None else None
    name = (
        storable_text(body.name, "name", max_chars=MAX_NAME_CHARS)
        if body.name is not None
        else None
    )
    attributes = (
        storable_json(body.attributes, "attributes", max_chars=16_000)
        if body.attributes is not None
        else None
    )
    try:
        contact = await state.backend.database.run(
            lambda c: contacts.upsert_verified_user(
                c,
                app_id,
                user,
                email=email,
                name=name,
                attributes=attributes,
                now=utcnow(),
            )
        )
    except IntegrityError:
        raise ApiError(
            409, "email_taken", "another verified user of this app has this email"
        ) from None
    return Response(msgspec.json.encode(contact.as_dict()), media_type="application/json")
