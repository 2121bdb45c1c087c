"""The customer's backend talks to its users: conversations, messages and events (SPEC
section 4; notifications are ``notifications_server.py``'s). Authenticated by a server
API key; everything addressed by user id reaches only that user's verified sessions."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from fastapi import APIRouter, Query, Request
from sqlalchemy import Connection
from starlette.responses import Response

from ... import messaging
from ...storage import contacts, conversations, cursors, events
from ...storage.conversations import Draft
from ...vocabulary.clock import utcnow
from ...vocabulary.stream import StreamItem
from ..auth import ApiAppDep
from ..body import read_model
from ..errors import ApiError
from ..identifier_field import IdentifierPath, IdentifierText, identifier_field
from ..openapi import json_body
from ..path_convertors import ANY_TEXT
from ..query_params import CursorParam
from ..state import StateDep, with_events
from ..text import storable_text, text_meta
from .conversations import (
    MAX_MESSAGE_CHARS,
    AttachmentIds,
    ClientId,
    MessageText,
    attachment_ids,
    json_response,
)

router = APIRouter(prefix="/v1", tags=["server"])


class Author(msgspec.Struct, forbid_unknown_fields=True):
    type: Literal["bot", "operator"]
    name: Annotated[str, text_meta(255)]


class NewUserConversation(msgspec.Struct, forbid_unknown_fields=True):
    user_id: IdentifierText | int
    body: MessageText
    author: Author | None = None


class NewServerMessage(msgspec.Struct, forbid_unknown_fields=True):
    body: MessageText
    author: Author
    client_id: ClientId | None = None
    attachment_ids: AttachmentIds | None = None


def _user(value: object) -> str:
    return identifier_field(value, "user_id")


def _author(author: Author | None) -> tuple[Literal["bot", "operator"], str]:
    if author is None:
        return "bot", "Countersign"
    return author.type, storable_text(author.name, "author.name", max_chars=255)


@router.get(f"/users/{{user_id:{ANY_TEXT}}}/conversations", summary="A user's conversations")
async def user_conversations(
    user_id: IdentifierPath,
    app_id: ApiAppDep,
    state: StateDep,
    limit: int = Query(50, ge=1, le=100),
    cursor: CursorParam = None,
) -> Response:
    user = _user(user_id)

    def work(connection: Connection) -> cursors.Page:
        contact_id = contacts.verified_contact_id(connection, app_id, user)
        if contact_id is None:
            return cursors.Page([], None)
        return conversations.list_conversations(connection, contact_id, limit=limit, cursor=cursor)

    page = await state.backend.database.run(work)
    return json_response(page.as_dict())


@router.get(f"/users/{{user_id:{ANY_TEXT}}}/events", summary="What a user did, newest first")
async def user_events(
    user_id: IdentifierPath,
    app_id: ApiAppDep,
    state: StateDep,
    limit: int = Query(50, ge=1, le=100),
) -> Response:
    user = _user(user_id)

    def work(connection: Connection) -> list[dict[str, Any]]:
        contact_id = contacts.verified_contact_id(connection, app_id, user)
        return [] if contact_id is None else events.list_events(connection, contact_id, limit=limit)

    return json_response({"data": await state.backend.database.run(work), "next_cursor": None})


@router.post(
    "/conversations",
    status_code=201,
    summary="Start a conversation with a user (visible to their verified sessions)",
    openapi_extra=json_body(NewUserConversation),
)
async def start_conversation(request: Request, app_id: ApiAppDep, state: StateDep) -> Response:
    payload = await read_model(request, NewUserConversation, state.settings.max_body_bytes)
    user_id = _user(payload.user_id)
    body = storable_text(payload.body, "body", max_chars=MAX_MESSAGE_CHARS)
    author_type, author_name = _author(payload.author)
    now = utcnow()

    def work(connection: Connection) -> tuple[dict[str, Any], list[StreamItem]]:
        contact_id = contacts.ensure_verified_contact(connection, app_id, user_id, now)
        conversation, created = messaging.start_conversation(connection, app_id, contact_id, now)
        posted = messaging.post_message(
            connection,
            app_id=app_id,
            contact_id=contact_id,
            conversation_id=conversation["id"],
            draft=Draft(author_type, author_name, body),
            now=now,
        )
        document = {**conversation, "message_count": 1, "message": posted.message}
        return document, [created, *posted.events]

    conversation = await state.commit_and_publish(work)
    return json_response({**conversation, "user_id": user_id}, 201)


@router.get("/conversations/{conversation_id}/messages", summary="A conversation's messages")
async def conversation_messages(
    conversation_id: str,
    app_id: ApiAppDep,
    state: StateDep,
    limit: int = Query(50, ge=1, le=100),
    cursor: CursorParam = None,
) -> Response:
    def work(connection: Connection) -> cursors.Page | None:
        if conversations.conversation_owner(connection, app_id, conversation_id) is None:
            return None
        return conversations.list_messages(
            connection, conversation_id, limit=limit, cursor=cursor, notes=True
        )

    page = await state.backend.database.run(work)
    if page is None:
        raise ApiError(404, "not_found", "no such conversation")
    return json_response(page.as_dict())


@router.post(
    "/conversations/{conversation_id}/messages",
    status_code=201,
    summary="Post a message as a bot or operator",
    openapi_extra=json_body(NewServerMessage),
)
async def reply(
    conversation_id: str, request: Request, app_id: ApiAppDep, state: StateDep
) -> Response:
    payload = await read_model(request, NewServerMessage, state.settings.max_body_bytes)
    body = storable_text(payload.body, "body", max_chars=MAX_MESSAGE_CHARS)
    author_type, author_name = _author(payload.author)
    client_id = (
        storable_text(payload.client_id, "client_id", max_chars=64)
        if payload.client_id is not None
        else None
    )
    now = utcnow()

    def work(connection: Connection) -> messaging.Posted | None:
        owner = conversations.conversation_owner(connection, app_id, conversation_id)
        if owner is None:
            return None
        return messaging.post_message(
            connection,
            app_id=app_id,
            contact_id=owner,
            conversation_id=conversation_id,
            draft=Draft(
                author_type, author_name, body, client_id, attachment_ids(payload.attachment_ids)
            ),
            now=now,
        )

    posted = await state.commit_and_publish(lambda c: with_events(work(c)))
    if posted is None:
        raise ApiError(404, "not_found", "no such conversation")
    return json_response(posted.message, 201 if posted.created else 200)
