"""The customer's backend and the notification inbox (SPEC 4 and 13): send to one user
or up to a thousand, idempotently; a user's notifications with their states; take one
back; a user's preferences. Authenticated by a server API key."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Request
from sqlalchemy import Connection
from starlette.responses import Response

from ... import notifications
from ...storage import contacts
from ...storage import notifications as notification_rows
from ...vocabulary.clock import utcnow
from ...vocabulary.stream import StreamItem
from ..auth import ApiAppDep
from ..body import read_model
from ..errors import ApiError, documented_errors
from ..identifier_field import IdentifierPath, IdentifierText, identifier_field
from ..openapi import json_body
from ..state import StateDep
from ..text import json_meta, text_meta
from .conversations import json_response
from .notification_bodies import (
    ActionLabel,
    ActionUrl,
    BodyText,
    CategoryText,
    ListingDep,
    NotificationUrl,
    PreferencesBody,
    TitleText,
    changes_of,
    draft_of,
)

router = APIRouter(prefix="/v1", tags=["server"])


class Action(msgspec.Struct, forbid_unknown_fields=True):
    label: ActionLabel
    url: ActionUrl


class NewNotification(msgspec.Struct, forbid_unknown_fields=True):
    title: TitleText
    user_id: IdentifierText | int | None = None
    user_ids: (
        Annotated[
            list[IdentifierText | int],
            msgspec.Meta(
                extra_json_schema={
                    "minItems": 1,
                    "maxItems": notifications.MAX_RECIPIENTS,
                    "uniqueItems": True,
                }
            ),
        ]
        | None
    ) = None
    body: BodyText | None = None
    url: NotificationUrl | None = None
    data: Annotated[dict[str, Any], json_meta(8_000)] | None = None
    category: CategoryText | None = None
    actions: Annotated[list[Action], msgspec.Meta(extra_json_schema={"maxItems": 2})] | None = None
    idempotency_key: Annotated[str, text_meta(255)] | None = None


# Exactly one of user_id and user_ids (a null one is absent): _recipients' rule.
_ONE_RECIPIENT_FIELD: Any = Annotated[
    NewNotification,
    msgspec.Meta(
        extra_json_schema={
            "oneOf": [
                {"required": ["user_id"], "properties": {"user_id": {"not": {"type": "null"}}}},
                {"required": ["user_ids"], "properties": {"user_ids": {"not": {"type": "null"}}}},
            ]
        }
    ),
]


def _fingerprint(payload: NewNotification) -> str:
    # Of what the body means, not its bytes: the same request re-encoded by another
    # client library (key order, spacing) is still the same request.
    canonical = json.dumps(msgspec.to_builtins(payload), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _recipients(payload: NewNotification) -> tuple[list[str], bool]:
    if (payload.user_id is None) == (payload.user_ids is None):
        raise ApiError(422, "invalid_request", "give exactly one of user_id and user_ids")
    if payload.user_id is not None:
        return [identifier_field(payload.user_id, "user_id")], True
    assert payload.user_ids is not None
    if len(payload.user_ids) > notifications.MAX_RECIPIENTS:
        # Before each id is checked: a refusal of 100,000 ids should not cost their checks.
        raise ApiError(
            422,
            "invalid_request",
            f"at most {notifications.MAX_RECIPIENTS} user_ids in one request",
        )
    return [
        identifier_field(user, f"user_ids[{i}]") for i, user in enumerate(payload.user_ids)
    ], False


@router.post(
    "/notifications",
    status_code=201,
    summary="Notify a user, or up to 1,000 (user_ids), once per idempotency_key",
    description=(
        "One notification per user, in one transaction, delivered live to each user's "
        "verified sessions. A user who muted the category in-app gets none (`muted`). "
        "With `idempotency_key`, a repeat within 24 hours answers 200 with the first "
        "answer and creates nothing; the same key with another body is 409."
    ),
    openapi_extra=json_body(_ONE_RECIPIENT_FIELD),
    responses={
        200: {"description": "A repeat of an earlier send with this idempotency_key"},
        **documented_errors(
            {
                409: "idempotency_key_reused: the key was used with another body",
                413: "payload_too_large",
                422: "invalid_request, invalid_identifier",
            }
        ),
    },
)
async def notify(request: Request, app_id: ApiAppDep, state: StateDep) -> Response:
    payload = await read_model(request, NewNotification, state.settings.max_body_bytes)
    users, one_user = _recipients(payload)
    draft = draft_of(payload)
    idempotency = None
    if payload.idempotency_key is not None:
        if not 1 <= len(payload.idempotency_key) <= 255:
            raise ApiError(422, "invalid_request", "idempotency_key must be 1-255 characters")
        idempotency = notifications.Idempotency(payload.idempotency_key, _fingerprint(payload))
    now = utcnow()

    def work(connection: Connection) -> tuple[notifications.Sent, tuple[StreamItem, ...]]:
        sent = notifications.send(
            connection,
            app_id=app_id,
            user_ids=users,
            draft=draft,
            now=now,
            idempotency=idempotency,
            one_user=one_user,
        )
        return sent, sent.events

    sent = await state.commit_and_publish(work)
    return json_response(sent.document, 201 if sent.created else 200)


@router.get(
    "/users/{user_id}/notifications",
    summary="A user's notifications with their states, newest first",
    responses=documented_errors({422: "invalid_request, invalid_identifier"}),
)
async def user_notifications(
    user_id: IdentifierPath,
    app_id: ApiAppDep,
    state: StateDep,
    listing: ListingDep,
) -> Response:
    user = identifier_field(user_id, "user_id")

    def work(connection: Connection) -> dict[str, Any]:
        contact_id = contacts.verified_contact_id(connection, app_id, user)
        if contact_id is None:
            return {"data": [], "next_cursor": None, "unread_count": 0}
        return notification_rows.list_notifications(
            connection,
            contact_id,
            view=listing.view("all"),
            category=listing.category,
            limit=listing.limit,
            cursor=listing.cursor,
        )

    return json_response(await state.backend.database.run(work))


@router.delete(
    "/notifications/{notification_id}",
    summary="Take a notification back; the user's open widgets drop it",
    responses=documented_errors({404: "not_found"}),
)
async def delete_notification(notification_id: str, app_id: ApiAppDep, state: StateDep) -> Response:
    now = utcnow()
    existed = await state.commit_and_publish(
        lambda c: notifications.delete(c, app_id, notification_id, now)
    )
    if not existed:
        raise ApiError(404, "not_found", "no such notification")
    return json_response({"id": notification_id, "deleted": True})


@router.get(
    "/preferences/{user_id}",
    summary="A user's notification preferences, per category and channel",
    responses=documented_errors({422: "invalid_identifier"}),
)
async def user_preferences(user_id: IdentifierPath, app_id: ApiAppDep, state: StateDep) -> Response:
    user = identifier_field(user_id, "user_id")

    def work(connection: Connection) -> dict[str, Any]:
        contact_id = contacts.verified_contact_id(connection, app_id, user)
        return notifications.preferences(connection, app_id, contact_id)

    return json_response(await state.backend.database.run(work))


@router.put(
    "/preferences/{user_id}",
    summary="Set a user's notification preferences (the categories named; the rest stay)",
    openapi_extra=json_body(PreferencesBody),
    responses=documented_errors({422: "unknown_category, invalid_request, invalid_identifier"}),
)
async def set_user_preferences(
    user_id: IdentifierPath, request: Request, app_id: ApiAppDep, state: StateDep
) -> Response:
    user = identifier_field(user_id, "user_id")
    changes = changes_of(await read_model(request, PreferencesBody, state.settings.max_body_bytes))
    now = utcnow()

    def work(connection: Connection) -> tuple[dict[str, Any], tuple[StreamItem, ...]]:
        contact_id = contacts.ensure_verified_contact(connection, app_id, user, now)
        document, event = notifications.set_preferences(
            connection, app_id, contact_id, changes, now
        )
        return document, (event,)

    return json_response(await state.commit_and_publish(work))
