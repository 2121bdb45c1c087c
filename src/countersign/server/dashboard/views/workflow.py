"""The inbox's changes to a conversation (SPEC 10): assign (to an operator, oneself or
nobody), snooze (an hour, tomorrow or next week at 9:00 in the operator's time zone, a
date), resolve and reopen, and private notes. Any operator may, as they may reply.

Each is a plain form (keyboard users and pages without script can do all of it) that
answers a redirect back to the thread, or JSON to the page's script; each change is
announced by :mod:`countersign.team` and published once committed, so every dashboard
and the contact's widgets see it live.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlencode

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from .... import team
from ....storage import inbox as inbox_queries
from ....storage import team_conversations
from ....vocabulary.clock import utcnow
from ....vocabulary.stream import StreamItem
from ...routes.conversations import MAX_MESSAGE_CHARS
from ...state import StateDep
from ..auth import AppDep, OperatorDep
from ..errors import BadForm, NotFound
from ..forms import Form
from ..route import dashboard_router, form_of, wants_json

router = dashboard_router()

BASE: Final = "/dashboard/apps/{app_id}/inbox/{conversation_id}"
SNOOZES: Final = ("1h", "tomorrow", "next_week", "date")


def _back(app_id: str, conversation_id: str, form: Form) -> str:
    """The thread again, in the view the form was sent from."""
    view = form.get("view", "")
    path = f"/dashboard/apps/{app_id}/inbox/{conversation_id}"
    return path + ("?" + urlencode({"view": view}) if view in inbox_queries.VIEWS else "")


async def _apply(
    request: Request,
    state: StateDep,
    app_id: str,
    conversation_id: str,
    change: team.WorkflowChange,
) -> Response:
    now = utcnow()

    def work(connection: Connection) -> tuple[dict[str, Any] | None, list[StreamItem]]:
        try:
            return team.change_conversation(
                connection, app_id=app_id, conversation_id=conversation_id, change=change, now=now
            )
        except team_conversations.ConversationNotFound:
            return None, []

    document = await state.commit_and_publish(work)
    if document is None:
        raise NotFound("This app has no such conversation.")
    if wants_json(request):
        return JSONResponse(document)
    return RedirectResponse(_back(app_id, conversation_id, form_of(request)), status_code=303)


@router.post(BASE + "/assign")
async def assign(
    conversation_id: str, request: Request, state: StateDep, operator: OperatorDep, app: AppDep
) -> Response:
    """``assignee_id``: an operator's id, ``me``, or empty for nobody."""
    wanted = form_of(request).get("assignee_id", "")
    if len(wanted) > 40:
        raise BadForm("assignee_id is not an operator")
    assignee_id = operator.id if wanted == "me" else wanted or None
    change = team.WorkflowChange(assign=True, assignee_id=assignee_id)
    return await _apply(request, state, app.id, conversation_id, change)


@router.post(BASE + "/status")
async def set_status(
    conversation_id: str, request: Request, state: StateDep, operator: OperatorDep, app: AppDep
) -> Response:
    """``status``: ``resolved`` or ``open`` (snoozing has its own form)."""
    status = form_of(request).get("status", "")
    if status not in ("open", "resolved"):
        raise BadForm("status must be open or resolved")
    change = team.WorkflowChange(team.parse_status(status))
    return await _apply(request, state, app.id, conversation_id, change)


@router.post(BASE + "/snooze")
async def snooze(
    conversation_id: str, request: Request, state: StateDep, operator: OperatorDep, app: AppDep
) -> Response:
    """``until``: ``1h``, ``tomorrow``, ``next_week`` or ``date`` (with ``date``,
    ``YYYY-MM-DD``); ``time_zone``: the browser's IANA zone (UTC without it)."""
    form = form_of(request)
    until = form.get("until", "")
    if until not in SNOOZES:
        raise BadForm("choose 1 hour, tomorrow, next week or a date")
    choice = form.get("date", "")[:10] if until == "date" else until
    time_zone = form.get("time_zone", "")[:64] or None
    now = utcnow()
    moment = team.snooze_choice(choice, now, time_zone)
    change = team.checked_change(status="snoozed", snoozed_until=moment.isoformat(), now=now)
    return await _apply(request, state, app.id, conversation_id, change)


@router.post(BASE + "/notes")
async def add_note(
    conversation_id: str, request: Request, state: StateDep, operator: OperatorDep, app: AppDep
) -> Response:
    """A private note under the operator's display name: never shown to the contact."""
    form = form_of(request)
    body = form.text("body", max_chars=MAX_MESSAGE_CHARS)
    now = utcnow()

    def work(connection: Connection) -> tuple[dict[str, Any] | None, list[StreamItem]]:
        try:
            return team.add_note(
                connection,
                app_id=app.id,
                conversation_id=conversation_id,
                body=body,
                author_name=operator.name,
                now=now,
            )
        except team_conversations.ConversationNotFound:
            return None, []

    note = await state.commit_and_publish(work)
    if note is None:
        raise NotFound("This app has no such conversation.")
    if wants_json(request):
        return JSONResponse(note, status_code=201)
    return RedirectResponse(_back(app.id, conversation_id, form), status_code=303)
