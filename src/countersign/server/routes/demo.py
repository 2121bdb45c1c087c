"""``/demo``: the widget on a page whose server signs the user, as a product's would.

Registered only with ``countersign serve --demo``. ``/demo`` computes the demo user's
hash here, on the server, and boots the widget with it; ``/demo?impersonate=1`` claims
another user with a hash that is not theirs, exactly what someone typing in the
console would try, and shows the server refusing it. Two buttons stand in for the
product's backend and support team: they post a reply and a notification to the demo
user through the same storage calls as the server API.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any, Final

import jinja2
from fastapi import APIRouter, Request
from sqlalchemy import Connection
from starlette.responses import HTMLResponse, JSONResponse, Response

from ... import messaging, notifications, sign
from ...core import InvalidSecret
from ...demo import DEMO_USER, OTHER_USER, find_or_create, remember, remembered_app_id
from ...storage import contacts, conversations
from ...storage import notifications as notification_rows
from ...storage.conversations import Draft
from ...storage.notifications import NotificationDraft
from ...vocabulary.clock import utcnow
from ...vocabulary.stream import StreamItem
from ..errors import ApiError
from ..state import ServerState, StateDep

router = APIRouter(include_in_schema=False)

SUPPORT_NAME: Final = "Grace from Support"
REPLIES: Final = (
    "Hi Ada! Thanks for reaching out. I can see your account, and you are verified.",
    "Good question. I have switched on the new reports for your workspace.",
    "Anything else I can help with? I will be here all afternoon.",
)
NOTIFICATIONS: Final = (
    ("Your export is ready", "analytics-2024-q3.csv can be downloaded for 7 days."),
    ("New comment on Weekly report", "Grace: Looks great, shipping it Monday."),
    ("Usage at 80%", "Your team used 8,000 of 10,000 events this month."),
)


@cache
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("countersign", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )


async def _demo_app(state: ServerState) -> str:
    # ``serve --demo`` created it at start; a server built some other way creates it now.
    data_dir = state.settings.data_dir
    remembered = remembered_app_id(data_dir)
    app_id = await state.backend.database.run(
        lambda c: find_or_create(c, state.backend.box, remembered)
    )
    if app_id != remembered:
        remember(data_dir, app_id)
    return app_id


@router.get("/demo", response_class=HTMLResponse)
async def demo_page(state: StateDep, impersonate: bool = False) -> Response:
    app_id = await _demo_app(state)
    config = await state.directory.get(app_id)
    try:
        if config is None:
            raise InvalidSecret("the demo app is gone")
        # What a product's backend does on each page view: sign the logged-in user's id
        # with the identity secret, which never leaves the server.
        user_hash = sign(config.ring.signing_key.secret, DEMO_USER.user_id)
    except InvalidSecret:
        raise ApiError(
            503,
            "demo_unavailable",
            f"the demo app {app_id} has no active identity secret; create one with: "
            f"countersign secrets create {app_id}",
        ) from None
    user = OTHER_USER if impersonate else DEMO_USER
    boot: dict[str, Any] = {
        "app_id": app_id,
        "user_id": user.user_id,
        # Impersonating: Ada's own valid hash, presented for Charles's user id.
        "user_hash": user_hash,
        "user_metadata": {"name": user.name, "email": user.email},
    }
    html = (
        _templates()
        .get_template("demo.html")
        .render(
            app_id=app_id,
            boot=boot,
            user=user,
            demo_user=DEMO_USER,
            other_user=OTHER_USER,
            user_hash=user_hash,
            impersonate=impersonate,
        )
    )
    return HTMLResponse(
        html, headers={"Cache-Control": "no-store", "Referrer-Policy": "same-origin"}
    )


def _require_json(request: Request) -> None:
    # A JSON content type makes any cross-site call a CORS preflight, which /demo
    # does not answer: only the demo page itself can press these buttons.
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise ApiError(415, "unsupported_media_type", "send Content-Type: application/json")


@router.post("/demo/reply", status_code=201)
async def demo_reply(request: Request, state: StateDep) -> JSONResponse:
    """Reply to the demo user's latest conversation as the support team."""
    _require_json(request)
    app_id = await _demo_app(state)
    now = utcnow()

    def work(connection: Connection) -> tuple[dict[str, Any], list[StreamItem]]:
        contact_id = contacts.ensure_verified_contact(connection, app_id, DEMO_USER.user_id, now)
        latest = conversations.list_conversations(connection, contact_id, limit=1).data
        events: list[StreamItem] = []
        if latest:
            conversation = latest[0]
        else:
            conversation, created = messaging.start_conversation(
                connection, app_id, contact_id, now
            )
            events.append(created)
        posted = messaging.post_message(
            connection,
            app_id=app_id,
            contact_id=contact_id,
            conversation_id=conversation["id"],
            draft=Draft(
                "operator",
                SUPPORT_NAME,
                REPLIES[(conversation["message_count"] - 1) % len(REPLIES)],
            ),
            now=now,
        )
        return posted.message, [*events, *posted.events]

    message = await state.commit_and_publish(work)
    return JSONResponse(message, 201)


@router.post("/demo/notify", status_code=201)
async def demo_notify(request: Request, state: StateDep) -> JSONResponse:
    """Send the demo user a notification, as the product's backend would."""
    _require_json(request)
    app_id = await _demo_app(state)
    now = utcnow()

    def work(connection: Connection) -> tuple[dict[str, Any], Sequence[StreamItem]]:
        contact_id = contacts.ensure_verified_contact(connection, app_id, DEMO_USER.user_id, now)
        count = notification_rows.unread_count(connection, contact_id)
        title, body = NOTIFICATIONS[count % len(NOTIFICATIONS)]
        sent = notifications.send(
            connection,
            app_id=app_id,
            user_ids=[DEMO_USER.user_id],
            draft=NotificationDraft(title, body),
            now=now,
            one_user=True,
        )
        return sent.document, sent.events

    notification = await state.commit_and_publish(work)
    return JSONResponse(notification, 201)
