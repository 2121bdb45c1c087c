"""The inbox: an app's conversations, newest activity first, and a thread with who the
contact is (verified, unverified or anonymous) and what they did.

Any operator, owner or agent, may read and answer here. A reply is a message with
``author_type="operator"`` and the operator's name, published like any other message,
so it reaches the contact's widgets live.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from .... import messaging
from ....storage import conversations, events, notifications
from ....storage import inbox as inbox_queries
from ....storage.conversations import Draft
from ....storage.models import MAX_INTEGER
from ....vocabulary.clock import utcnow
from ...routes.conversations import MAX_MESSAGE_CHARS
from ...state import StateDep, with_events
from ..auth import AppDep, OperatorDep
from ..errors import BadForm, NotFound
from ..pages import page
from ..route import dashboard_router, form_of, wants_json

router = dashboard_router()

INBOX_SIZE: Final = 100
THREAD_SIZE: Final = 200
RECENT_EVENTS: Final = 20
RECENT_NOTIFICATIONS: Final = 10


def _thread_path(app_id: str, conversation_id: str) -> str:
    return f"/dashboard/apps/{app_id}/inbox/{conversation_id}"


@router.get("/dashboard/apps/{app_id}/inbox")
async def inbox(request: Request, state: StateDep, operator: OperatorDep, app: AppDep) -> Response:
    rows = await state.backend.database.run(
        lambda c: inbox_queries.inbox(c, app.id, operator.id, limit=INBOX_SIZE)
    )
    return await page(
        request,
        state,
        "inbox.html",
        operator=operator,
        app=app,
        section="inbox",
        rows=rows,
        thread=None,
    )


@router.get("/dashboard/apps/{app_id}/inbox/{conversation_id}")
async def thread(
    conversation_id: str, request: Request, state: StateDep, operator: OperatorDep, app: AppDep
) -> Response:
    now = utcnow()

    def load(connection: Connection) -> dict[str, Any] | None:
        conversation = inbox_queries.conversation_of_app(connection, app.id, conversation_id)
        if conversation is None:
            return None
        contact_id = conversation["contact"]["id"]
        inbox_queries.mark_read(
            connection, operator.id, conversation_id, conversation["last_seq"], now
        )
        return {
            "conversation": conversation,
            "messages": inbox_queries.latest_messages(
                connection, conversation_id, limit=THREAD_SIZE
            ),
            "events": events.list_events(connection, contact_id, limit=RECENT_EVENTS),
            "notifications": notifications.list_notifications(
                connection, contact_id, view="all", limit=RECENT_NOTIFICATIONS
            )["data"],
            "rows": inbox_queries.inbox(connection, app.id, operator.id, limit=INBOX_SIZE),
        }

    loaded = await state.backend.database.run(load)
    if loaded is None:
        raise NotFound("This app has no such conversation.")
    return await page(
        request,
        state,
        "inbox.html",
        operator=operator,
        app=app,
        section="inbox",
        rows=loaded.pop("rows"),
        thread=loaded,
    )


@router.post("/dashboard/apps/{app_id}/inbox/{conversation_id}/reply")
async def reply(
    conversation_id: str, request: Request, state: StateDep, operator: OperatorDep, app: AppDep
) -> Response:
    form = form_of(request)
    body = form.text("body", max_chars=MAX_MESSAGE_CHARS)
    client_id = form.get("client_id") or None
    if client_id is not None and len(client_id) > 64:
        raise BadForm("client_id is longer than 64 characters")
    now = utcnow()

    def post(connection: Connection) -> messaging.Posted | None:
        owner = conversations.conversation_owner(connection, app.id, conversation_id)
        if owner is None:
            return None
        posted = messaging.post_message(
            connection,
            app_id=app.id,
            contact_id=owner,
            conversation_id=conversation_id,
            draft=Draft("operator", operator.name, body, client_id),
            now=now,
        )
        # An operator has read what they answered.
        inbox_queries.mark_read(
            connection, operator.id, conversation_id, posted.message["seq"], now
        )
        return posted

    posted = await state.commit_and_publish(lambda c: with_events(post(c)))
    if posted is None:
        raise NotFound("This app has no such conversation.")
    if wants_json(request):
        return JSONResponse(posted.message, status_code=201 if posted.created else 200)
    return RedirectResponse(_thread_path(app.id, conversation_id), status_code=303)


@router.post("/dashboard/apps/{app_id}/inbox/{conversation_id}/read")
async def mark_read(
    conversation_id: str, request: Request, state: StateDep, operator: OperatorDep, app: AppDep
) -> Response:
    seq_text = form_of(request).get("seq", "")
    # last_read_seq is an Integer column: 2**31 and up was a 500 on PostgreSQL.
    digits = seq_text.isascii() and seq_text.isdigit() and len(seq_text) <= 10
    if not digits or int(seq_text) > MAX_INTEGER:
        raise BadForm("seq must be a message number")
    seq = int(seq_text)
    now = utcnow()

    def work(connection: Connection) -> bool:
        if conversations.conversation_owner(connection, app.id, conversation_id) is None:
            return False
        inbox_queries.mark_read(connection, operator.id, conversation_id, seq, now)
        return True

    if not await state.backend.database.run(work):
        raise NotFound("This app has no such conversation.")
    return Response(status_code=204)
