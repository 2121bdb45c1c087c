"""The widget's conversations and events (SPEC section 3); its notifications are
``notifications_widget.py``'s.

Everything is scoped to the session's contact. A verified session's contact is the
user's verified contact, shared by their devices; any other session's contact is the
browser's own. Naming anything else answers 404, exactly as if it did not exist.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Query, Request
from sqlalchemy import Connection
from starlette.responses import Response

from ... import messaging
from ...storage import conversations
from ...storage.conversations import Draft
from ...vocabulary.clock import utcnow
from ...vocabulary.stream import StreamItem
from ..auth import SessionDep, widget_session_and_read
from ..body import read_model
from ..client_ip import client_ip
from ..errors import ApiError, documented_errors
from ..openapi import json_body
from ..query_params import CursorParam
from ..ratelimit import per_address
from ..sessions import SessionView
from ..state import ServerState, StateDep, with_events
from ..text import json_meta, storable_json, storable_text, text_meta

router = APIRouter(prefix="/v1/widget", tags=["widget"])

MAX_MESSAGE_CHARS = 10_000


def json_response(document: Any, status: int = 200) -> Response:
    return Response(msgspec.json.encode(document), status, media_type="application/json")


def _not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"no such {what}")


MessageText = Annotated[str, text_meta(MAX_MESSAGE_CHARS)]
ClientId = Annotated[str, text_meta(64)]


class NewConversation(msgspec.Struct, forbid_unknown_fields=True):
    body: MessageText | None = None
    client_id: ClientId | None = None


class NewMessage(msgspec.Struct, forbid_unknown_fields=True):
    body: MessageText
    client_id: ClientId | None = None


class NewEvent(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, text_meta(255)]
    properties: Annotated[dict[str, Any], json_meta(8_000)] | None = None


def _client_id(value: str | None) -> str | None:
    if value is None:
        return None
    return storable_text(value, "client_id", max_chars=64)


LIST_LIMIT_MAX = 100


# GETs of exactly this path with no query or a plain ``?limit=N`` are answered ahead of
# the app by server/ahead.py, through list_for_session; the route stays for the rest.
@router.get("/conversations", summary="This session's conversations, newest activity first")
async def list_conversations(
    session: SessionDep,
    state: StateDep,
    limit: int = Query(50, ge=1, le=LIST_LIMIT_MAX),
    cursor: CursorParam = None,
) -> Response:
    return await _listed(state, session, limit, cursor)


async def list_for_session(request: Request, limit: int) -> Response:
    """The first page of the session's conversations, for the lean path: read in the
    transaction that checks the session."""
    state: ServerState = request.app.state.countersign
    _, page = await widget_session_and_read(
        request,
        state,
        lambda c, session: conversations.list_conversations(c, session.contact_id, limit=limit),
    )
    return json_response(page.as_dict())


async def _listed(
    state: ServerState, session: SessionView, limit: int, cursor: str | None
) -> Response:
    page = await state.backend.database.read(
        lambda c: conversations.list_conversations(
            c, session.contact_id, limit=limit, cursor=cursor
        )
    )
    return json_response(page.as_dict())


@router.post(
    "/conversations",
    status_code=201,
    summary="Start a conversation, with a first message when body is given",
    openapi_extra=json_body(NewConversation),
    responses=documented_errors({429: "rate_limited (unverified sessions), with Retry-After"}),
)
async def create_conversation(request: Request, session: SessionDep, state: StateDep) -> Response:
    payload = await read_model(request, NewConversation, state.settings.max_body_bytes)
    if not session.verified:
        # Anyone can open anonymous browsers: their conversations, which land in the
        # team's inbox, are limited per address. A verified user's never are.
        key = per_address(session.app_id, client_ip(request, state.settings.trusted_proxies))
        if (wait := await state.limits.take_conversation_start(key)) is not None:
            raise ApiError(
                429,
                "rate_limited",
                "too many new conversations from this address; try again later",
                headers={"Retry-After": str(wait)},
            )
    body = (
        storable_text(payload.body, "body", max_chars=MAX_MESSAGE_CHARS)
        if payload.body is not None
        else None
    )
    client_id = _client_id(payload.client_id)
    now = utcnow()

    def work(connection: Connection) -> tuple[dict[str, Any], list[StreamItem]]:
        conversation, created = messaging.start_conversation(
            connection, session.app_id, session.contact_id, now
        )
        events = [created]
        if body is not None:
            posted = messaging.post_message(
                connection,
                app_id=session.app_id,
                contact_id=session.contact_id,
                conversation_id=conversation["id"],
                draft=Draft("contact", None, body, client_id),
                now=now,
            )
            conversation = {**conversation, "message_count": 1, "message": posted.message}
            events.extend(posted.events)
        return conversation, events

    conversation = await state.commit_and_publish(work)
    return json_response(conversation, 201)


async def _own_conversation(state: StateDep, contact_id: str, conversation_id: str) -> None:
    found = await state.backend.database.run(
        lambda c: conversations.get_conversation(c, contact_id, conversation_id)
    )
    if found is None:
        raise _not_found("conversation")


@router.get("/conversations/{conversation_id}/messages", summary="Messages, oldest first")
async def list_messages(
    conversation_id: str,
    session: SessionDep,
    state: StateDep,
    limit: int = Query(50, ge=1, le=100),
    cursor: CursorParam = None,
) -> Response:
    await _own_conversation(state, session.contact_id, conversation_id)
    page = await state.backend.database.run(
        lambda c: conversations.list_messages(c, conversation_id, limit=limit, cursor=cursor)
    )
    return json_response(page.as_dict())


@router.post(
    "/conversations/{conversation_id}/messages",
    status_code=201,
    summary="Send a message; a repeated client_id returns the original (200)",
    openapi_extra=json_body(NewMessage),
)
async def post_message(
    conversation_id: str, request: Request, session: SessionDep, state: StateDep
) -> Response:
    payload = await read_model(request, NewMessage, state.settings.max_body_bytes)
    body = storable_text(payload.body, "body", max_chars=MAX_MESSAGE_CHARS)
    client_id = _client_id(payload.client_id)
    now = utcnow()

    def work(connection: Connection) -> messaging.Posted | None:
        if conversations.get_conversation(connection, session.contact_id, conversation_id) is None:
            return None
        return messaging.post_message(
            connection,
            app_id=session.app_id,
            contact_id=session.contact_id,
            conversation_id=conversation_id,
            draft=Draft("contact", None, body, client_id),
            now=now,
        )

    posted = await state.commit_and_publish(lambda c: with_events(work(c)))
    if posted is None:
        raise _not_found("conversation")
    return json_response(posted.message, 201 if posted.created else 200)


@router.post(
    "/events",
    status_code=201,
    summary="Record something the contact did",
    openapi_extra=json_body(NewEvent),
)
async def track_event(request: Request, session: SessionDep, state: StateDep) -> Response:
    payload = await read_model(request, NewEvent, state.settings.max_body_bytes)
    name = storable_text(payload.name, "name", max_chars=255)
    properties = storable_json(payload.properties or {}, "properties", max_chars=8_000)
    event = await state.backend.database.run(
        lambda c: messaging.track_event(
            c,
            app_id=session.app_id,
            contact_id=session.contact_id,
            name=name,
            properties=properties,
            now=utcnow(),
        )
    )
    return json_response(event, 201)
