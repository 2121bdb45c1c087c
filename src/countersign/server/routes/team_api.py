"""The server API of a support team's work (SPEC 10): the app's conversations by status,
assignee and user, one conversation, changing its status, snooze and assignee,
private notes, and the contact search. Authenticated by a server API key."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from fastapi import APIRouter, Query, Request
from sqlalchemy import Connection
from starlette.responses import Response

from ... import team
from ...storage import contact_search, contacts, cursors, team_conversations
from ...storage.team_conversations import STATUSES, UNASSIGNED, Filters
from ...vocabulary.clock import utcnow
from ...vocabulary.stream import StreamItem
from ..auth import ApiAppDep
from ..body import read_model
from ..errors import ApiError, documented_errors
from ..identifier_field import SCHEMA as IDENTIFIER_SCHEMA
from ..identifier_field import identifier_field
from ..openapi import json_body
from ..query_params import CursorParam
from ..state import StateDep
from ..text import storable_text, text_meta
from .conversations import MAX_MESSAGE_CHARS, MessageText, json_response

router = APIRouter(prefix="/v1", tags=["server"])

#: A query parameter's user id, documented as every identifier is.
IdentifierQuery = Annotated[str | None, Query(json_schema_extra=IDENTIFIER_SCHEMA)]

MAX_EMAIL_CHARS = 255


# Documented, not enforced by the decoder: the rules answer with their own codes
# (invalid_status, invalid_snooze), naming what was wrong.
StatusText = Annotated[str, msgspec.Meta(extra_json_schema={"enum": list(STATUSES)})]
MomentText = Annotated[
    str,
    msgspec.Meta(
        extra_json_schema={
            "format": "date-time",
            "maxLength": 40,
            "description": "ISO 8601 with a UTC offset, in the future (at most a year ahead)",
        }
    ),
]
EmailText = Annotated[str, text_meta(MAX_EMAIL_CHARS)]


class ConversationChange(msgspec.Struct, forbid_unknown_fields=True):
    status: StatusText | None = None
    snoozed_until: MomentText | None = None
    # Absent: the assignee stays; null: nobody; an email: that active operator.
    assignee_email: EmailText | msgspec.UnsetType | None = msgspec.UNSET


class NoteAuthor(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, text_meta(255)]


class NewNote(msgspec.Struct, forbid_unknown_fields=True):
    body: MessageText
    author: NoteAuthor


def _not_found() -> ApiError:
    return ApiError(404, "not_found", "no such conversation")


@router.get(
    "/conversations",
    summary="The app's conversations, by status and assignee",
    responses=documented_errors(
        {422: "invalid_request, invalid_status, unknown_assignee, invalid_identifier"}
    ),
)
async def list_conversations(
    app_id: ApiAppDep,
    state: StateDep,
    status: Literal["open", "snoozed", "resolved"] | None = Query(None),
    assignee: str | None = Query(
        None,
        min_length=1,
        max_length=MAX_EMAIL_CHARS,
        pattern=contact_search.QUERY_PATTERN,
        description="an operator's email, or none",
    ),
    contact_user_id: IdentifierQuery = None,
    limit: int = Query(50, ge=1, le=100),
    cursor: CursorParam = None,
) -> Response:
    wanted = None if status is None else team.parse_status(status)
    user_id = None if contact_user_id is None else identifier_field(contact_user_id, "user_id")

    def work(connection: Connection) -> cursors.Page:
        assignee_id = None
        if assignee == UNASSIGNED:
            assignee_id = UNASSIGNED
        elif assignee is not None:
            found = team_conversations.assignable_operator(connection, email=assignee)
            assignee_id = found["id"]
        contact_id = None
        if user_id is not None:
            contact_id = contacts.verified_contact_id(connection, app_id, user_id)
            if contact_id is None:
                return cursors.Page([], None)
        filters = Filters(status=wanted, assignee_id=assignee_id, contact_id=contact_id)
        return team_conversations.list_for_app(
            connection, app_id, filters, limit=limit, cursor=cursor
        )

    page = await state.backend.database.run(work)
    return json_response(page.as_dict())


@router.get(
    "/conversations/{conversation_id}",
    summary="One conversation, as the team sees it",
    responses=documented_errors({404: "not_found: no such conversation of this app"}),
)
async def get_conversation(conversation_id: str, app_id: ApiAppDep, state: StateDep) -> Response:
    found = await state.backend.database.run(
        lambda c: team_conversations.find_for_app(c, app_id, conversation_id)
    )
    if found is None:
        raise _not_found()
    found.pop("app_id")
    return json_response(found)


@router.patch(
    "/conversations/{conversation_id}",
    summary="Change a conversation's status, snooze or assignee",
    openapi_extra=json_body(ConversationChange),
    responses=documented_errors(
        {
            404: "not_found: no such conversation of this app",
            422: "invalid_request, invalid_status, invalid_snooze, unknown_assignee",
        }
    ),
)
async def change_conversation(
    conversation_id: str, request: Request, app_id: ApiAppDep, state: StateDep
) -> Response:
    payload = await read_model(request, ConversationChange, state.settings.max_body_bytes)
    assign = payload.assignee_email is not msgspec.UNSET
    email = payload.assignee_email if isinstance(payload.assignee_email, str) else None
    if email is not None:
        email = storable_text(email, "assignee_email", max_chars=MAX_EMAIL_CHARS)
    now = utcnow()
    change = team.checked_change(
        status=payload.status,
        snoozed_until=payload.snoozed_until,
        assign=assign,
        assignee_email=email,
        now=now,
    )

    def work(connection: Connection) -> tuple[dict[str, Any], list[StreamItem]]:
        return team.change_conversation(
            connection, app_id=app_id, conversation_id=conversation_id, change=change, now=now
        )

    document = await state.commit_and_publish(work)
    return json_response(document)


@router.post(
    "/conversations/{conversation_id}/notes",
    status_code=201,
    summary="Add a private note (the team sees it; the contact never does)",
    openapi_extra=json_body(NewNote),
    responses=documented_errors({404: "not_found: no such conversation of this app"}),
)
async def add_note(
    conversation_id: str, request: Request, app_id: ApiAppDep, state: StateDep
) -> Response:
    payload = await read_model(request, NewNote, state.settings.max_body_bytes)
    body = storable_text(payload.body, "body", max_chars=MAX_MESSAGE_CHARS)
    author = storable_text(payload.author.name, "author.name", max_chars=255)
    now = utcnow()

    def work(connection: Connection) -> tuple[dict[str, Any], list[StreamItem]]:
        return team.add_note(
            connection,
            app_id=app_id,
            conversation_id=conversation_id,
            body=body,
            author_name=author,
            now=now,
        )

    note = await state.commit_and_publish(work)
    return json_response(note, 201)


@router.get(
    "/contacts",
    summary="Search contacts by user id, email and name",
    responses=documented_errors({422: "invalid_request, invalid_query"}),
)
async def search_contacts(
    app_id: ApiAppDep,
    state: StateDep,
    query: str = Query(
        "", max_length=contact_search.MAX_QUERY_CHARS, pattern=contact_search.QUERY_PATTERN
    ),
    limit: int = Query(50, ge=1, le=100),
    cursor: CursorParam = None,
) -> Response:
    page = await state.backend.database.run(
        lambda c: contact_search.search_contacts(c, app_id, query, cursor, limit=limit)
    )
    return json_response(page.as_dict())
