"""The inbox: an app's conversations by view (*Mine*, *Unassigned*, *All open*,
*Snoozed*, *Resolved*, with their counts, and a search by contact), newest activity
first, and a thread with who the contact is (verified, unverified or anonymous), what
they did, and the team's controls and notes (the changes are ``workflow.py``'s).

Any operator, owner or agent, may read and answer here. A reply is a message with
``author_type="operator"`` and the operator's name, published like any other message,
so it reaches the contact's widgets live.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from .... import messaging
from ....storage import (
    contact_search,
    conversations,
    events,
    notifications,
    operators,
    reads,
    stream_log,
    team_conversations,
)
from ....storage import inbox as inbox_queries
from ....storage.conversations import Draft
from ....storage.models import MAX_INTEGER
from ....vocabulary.clock import utcnow
from ....vocabulary.stream import Signal, StreamItem
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


VIEW_LABELS: Final = {
    "mine": "Mine",
    "unassigned": "Unassigned",
    "open": "All open",
    "snoozed": "Snoozed",
    "resolved": "Resolved",
}
DEFAULT_VIEW: Final = "open"


def _thread_path(app_id: str, conversation_id: str) -> str:
    return f"/dashboard/apps/{app_id}/inbox/{conversation_id}"


def _view_of(request: Request) -> tuple[str, str]:
    """The view and search the page asks for (``?view=&q=``), checked."""
    view = request.query_params.get("view") or DEFAULT_VIEW
    if view not in inbox_queries.VIEWS:
        raise BadForm("view must be one of " + ", ".join(inbox_queries.VIEWS))
    query = request.query_params.get("q", "")
    try:
        return view, contact_search.check_query(query)
    except contact_search.InvalidQuery as error:
        raise BadForm(str(error)) from None


def _mark_past_own_events(connection: Connection, app_id: str, mark: int, own: int) -> int:
    """The stream mark moved past the events this page's own load wrote (opening a
    thread reads it), when those are all that happened since ``mark``: else its socket
    would hear of them as a change it missed, and reload the page for nothing."""
    if not own:
        return mark
    now_at = stream_log.stream_mark(connection)
    if stream_log.app_events_between(connection, app_id, mark, now_at) == own:
        return now_at
    return mark


def _listing(
    connection: Connection, app_id: str, operator_id: str, view: str, query: str, live_mark: int
) -> dict[str, Any]:
    """The list pane: the view's rows (a search's contacts only), the counts, the team,
    and the stream's mark (``live_mark``, read before any of the page), which the page's
    live socket sends back so that a change made after it and before the socket's
    start reloads the page."""
    contact_ids = None
    if query:
        found = contact_search.search_contacts(connection, app_id, query, None, limit=100)
        contact_ids = [contact["id"] for contact in found.data]
    return {
        "rows": inbox_queries.inbox(
            connection, app_id, operator_id, limit=INBOX_SIZE, view=view, contact_ids=contact_ids
        ),
        "counts": team_conversations.view_counts(connection, app_id, operator_id),
        "team": [record for record in operators.list_operators(connection) if record.active],
        "view": view,
        "query": query,
        "views": VIEW_LABELS,
        "live_mark": live_mark,
    }


@router.get("/dashboard/apps/{app_id}/inbox")
async def inbox(request: Request, state: StateDep, operator: OperatorDep, app: AppDep) -> Response:
    view, query = _view_of(request)
    listing = await state.backend.database.run(
        lambda c: _listing(c, app.id, operator.id, view, query, stream_log.stream_mark(c))
    )
    return await page(
        request,
        state,
        "inbox.html",
        operator=operator,
        app=app,
        section="inbox",
        thread=None,
        **listing,
    )


@router.get("/dashboard/apps/{app_id}/inbox/{conversation_id}")
async def thread(
    conversation_id: str, request: Request, state: StateDep, operator: OperatorDep, app: AppDep
) -> Response:
    now = utcnow()
    view, query = _view_of(request)

    def load(connection: Connection) -> tuple[dict[str, Any] | None, tuple[StreamItem, ...]]:
        mark = stream_log.stream_mark(connection)  # before any of what the page shows
        conversation = inbox_queries.conversation_of_app(connection, app.id, conversation_id)
        if conversation is None:
            return None, ()
        contact_id = conversation["contact"]["id"]
        # Opening the thread reads it: this operator's marker, and the team's (*Seen*).
        seen = _operator_read(
            connection, operator.id, app.id, conversation_id, conversation["last_seq"], now
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
            "listing": _listing(
                connection,
                app.id,
                operator.id,
                view,
                query,
                _mark_past_own_events(connection, app.id, mark, len(seen)),
            ),
            "contact_read_seq": reads.contact_read_seq(connection, conversation_id),
        }, seen

    loaded = await state.commit_and_publish(load)
    if loaded is None:
        raise NotFound("This app has no such conversation.")
    return await page(
        request,
        state,
        "inbox.html",
        operator=operator,
        app=app,
        section="inbox",
        **loaded.pop("listing"),
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
        seen = _operator_read(
            connection, operator.id, app.id, conversation_id, posted.message["seq"], now
        )
        return dataclasses.replace(posted, events=(*posted.events, *seen))

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

    def work(connection: Connection) -> tuple[bool, tuple[StreamItem, ...]]:
        if conversations.conversation_owner(connection, app.id, conversation_id) is None:
            return False, ()
        return True, _operator_read(connection, operator.id, app.id, conversation_id, seq, now)

    if not await state.commit_and_publish(work):
        raise NotFound("This app has no such conversation.")
    return Response(status_code=204)


@router.post("/dashboard/apps/{app_id}/inbox/{conversation_id}/typing")
async def typing(
    conversation_id: str, state: StateDep, operator: OperatorDep, app: AppDep
) -> Response:
    """The operator is typing in the reply box: a ``typing`` signal to the contact's
    sessions, with the operator's display name (never their email). At most one a
    second per operator and conversation; more are a quiet no-op."""
    owner = await state.backend.database.run(
        lambda c: conversations.conversation_owner(c, app.id, conversation_id)
    )
    if owner is None:
        raise NotFound("This app has no such conversation.")
    sent = state.typing_limit.take("operator:" + operator.id, conversation_id)
    if sent:
        author = {"type": "operator", "name": operator.name}
        data = {"conversation_id": conversation_id, "author": author}
        await state.broker.signal(Signal(app.id, owner, "contact", "typing", data))
    return JSONResponse({"sent": sent}, status_code=202)


def _operator_read(
    connection: Connection,
    operator_id: str,
    app_id: str,
    conversation_id: str,
    seq: int,
    now: datetime,
) -> tuple[StreamItem, ...]:
    """The operator read up to ``seq``: their own unread marker, and the team's
    position (``conversation.read`` by ``operator`` when it moved)."""
    inbox_queries.mark_read(connection, operator_id, conversation_id, seq, now)
    event = messaging.team_read(connection, app_id, conversation_id, seq, now)
    return () if event is None else (event,)
