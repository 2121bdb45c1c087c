"""Typing and read receipts in the widget (SPEC 11).

- ``POST /v1/widget/conversations/{id}/typing``: the contact is typing. A ``typing``
  signal ``{conversation_id, author}`` goes to the app's dashboards on every node; it
  is not stored and carries no ``seq``. At most one per second per sender: one more
  is a quiet no-op, answered ``{"sent": false}`` (typing_limit.py says why).
- ``POST /v1/widget/conversations/{id}/read`` ``{up_to_seq}``: how far the contact
  has read, on every device (never moves back). A move announces
  ``conversation.read`` on the contact's stream and to the dashboards.

Another contact's or app's conversation is 404, as everywhere in the widget API.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Request
from sqlalchemy import Connection
from starlette.responses import Response

from ... import messaging
from ...storage import conversations, reads
from ...storage.models import MAX_INTEGER
from ...vocabulary.clock import utcnow
from ...vocabulary.stream import Signal, StreamItem
from ..auth import SessionDep
from ..body import read_model
from ..errors import ApiError, documented_errors
from ..openapi import json_body
from ..state import StateDep
from .conversations import json_response

router = APIRouter(prefix="/v1/widget", tags=["widget"])

TYPING = "typing"


class ReadPosition(msgspec.Struct, forbid_unknown_fields=True):
    """The body as documented: a whole number (JSON Schema counts ``3.0`` as one)."""

    up_to_seq: Annotated[int, msgspec.Meta(ge=0, le=MAX_INTEGER)]


class _ReadBody(msgspec.Struct, forbid_unknown_fields=True):
    """The body as read: ``3.0`` is the document's integer 3, so it is accepted."""

    up_to_seq: int | float


def _position(body: _ReadBody) -> int:
    value = body.up_to_seq
    if isinstance(value, float) and not value.is_integer():
        raise ApiError(422, "invalid_request", "up_to_seq must be a whole number")
    if not 0 <= value <= MAX_INTEGER:
        raise ApiError(422, "invalid_request", f"up_to_seq must be 0 to {MAX_INTEGER}")
    return int(value)


def _not_found() -> ApiError:
    return ApiError(404, "not_found", "no such conversation")


@router.post(
    "/conversations/{conversation_id}/typing",
    status_code=202,
    summary="The contact is typing: tell the team's dashboards (at most once a second)",
    description=(
        'Answers `{"sent": true}`, or `{"sent": false}` when this sender already '
        "signalled in the last second (nothing is sent then). Not stored; the "
        "dashboards forget it after about 5 seconds."
    ),
    responses=documented_errors({404: "not_found"}),
)
async def typing(conversation_id: str, session: SessionDep, state: StateDep) -> Response:
    found = await state.backend.database.run(
        lambda c: conversations.get_conversation(c, session.contact_id, conversation_id)
    )
    if found is None:
        raise _not_found()
    sent = state.typing_limit.take("contact:" + session.contact_id, conversation_id)
    if sent:
        data = {"conversation_id": conversation_id, "author": {"type": "contact", "name": None}}
        await state.broker.signal(Signal(session.app_id, session.contact_id, "team", TYPING, data))
    return json_response({"sent": sent}, 202)


@router.post(
    "/conversations/{conversation_id}/read",
    summary="The contact has read the conversation up to a message (never moves back)",
    description=(
        "Answers `{conversation_id, up_to_seq}` with where the contact's position is "
        "now (a smaller `up_to_seq` than the stored one leaves it). `up_to_seq` beyond "
        "the conversation's last message is 422 `seq_out_of_range`."
    ),
    openapi_extra=json_body(ReadPosition),
    responses=documented_errors(
        {404: "not_found", 422: "invalid_request, seq_out_of_range: beyond the last message"}
    ),
)
async def read(
    conversation_id: str, request: Request, session: SessionDep, state: StateDep
) -> Response:
    up_to_seq = _position(await read_model(request, _ReadBody, state.settings.max_body_bytes))
    now = utcnow()

    def work(connection: Connection) -> tuple[reads.Read | None, tuple[StreamItem, ...]]:
        done = messaging.contact_read(
            connection, session.contact_id, conversation_id, up_to_seq, now
        )
        if done is None:
            return None, ()
        read, event = done
        return read, () if event is None else (event,)

    try:
        position = await state.commit_and_publish(work)
    except reads.BeyondLastMessage as error:
        raise ApiError(422, "seq_out_of_range", str(error)) from None
    if position is None:
        raise _not_found()
    document: dict[str, Any] = {"conversation_id": conversation_id, "up_to_seq": position.up_to_seq}
    return json_response(document)
