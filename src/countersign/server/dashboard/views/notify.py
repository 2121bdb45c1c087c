"""Sending a notification to a conversation's contact from the dashboard: the same send
as the backend's ``POST /v1/notifications`` (its rules, its preferences, its live
delivery), for a verified user only, since notifications are addressed to user ids."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from .... import notifications
from ....storage import inbox as inbox_queries
from ....storage.errors import Invalid
from ....vocabulary.clock import utcnow
from ....vocabulary.stream import StreamItem
from ...errors import ApiError
from ...routes.notification_bodies import MAX_BODY_CHARS, MAX_TITLE_CHARS, draft_of
from ...state import StateDep
from ..auth import AppDep, OperatorDep
from ..errors import BadForm, NotFound
from ..route import dashboard_router, form_of, wants_json

router = dashboard_router()


class _Content:
    """The form's fields in the shape ``draft_of`` checks."""

    def __init__(self, title: str, body: str, category: str, label: str, url: str) -> None:
        self.title = title
        self.body: str | None = body or None
        self.url: str | None = None
        self.data: dict[str, Any] | None = None
        self.category: str | None = category or None
        self.actions = [_Action(label, url)] if label or url else []


class _Action:
    def __init__(self, label: str, url: str) -> None:
        self.label = label
        self.url = url


@router.post("/dashboard/apps/{app_id}/inbox/{conversation_id}/notify")
async def notify(
    conversation_id: str, request: Request, state: StateDep, operator: OperatorDep, app: AppDep
) -> Response:
    form = form_of(request)
    content = _Content(
        form.text("title", max_chars=MAX_TITLE_CHARS),
        form.text("body", max_chars=MAX_BODY_CHARS, required=False),
        form.text("category", max_chars=64, required=False),
        form.text("action_label", max_chars=64, required=False),
        form.text("action_url", max_chars=2_000, required=False),
    )
    try:
        draft = draft_of(content)
    except ApiError as error:
        raise BadForm(error.message) from None
    except Invalid as error:
        raise BadForm(str(error)) from None
    now = utcnow()

    def work(connection: Connection) -> tuple[notifications.Sent | None, tuple[StreamItem, ...]]:
        conversation = inbox_queries.conversation_of_app(connection, app.id, conversation_id)
        if conversation is None:
            return None, ()
        contact = conversation["contact"]
        if contact["status"] != "verified" or not contact["user_id"]:
            raise BadForm("Only a verified user with a user id can get notifications.")
        sent = notifications.send(
            connection,
            app_id=app.id,
            user_ids=[contact["user_id"]],
            draft=draft,
            now=now,
            one_user=True,
        )
        return sent, sent.events

    sent = await state.commit_and_publish(work)
    if sent is None:
        raise NotFound("This app has no such conversation.")
    if wants_json(request):
        return JSONResponse(sent.document, status_code=201)
    return RedirectResponse(f"/dashboard/apps/{app.id}/inbox/{conversation_id}", status_code=303)
