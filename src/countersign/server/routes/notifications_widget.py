"""The widget's notification inbox (SPEC 13): the views, the counts, seen, read /
unread, archive / unarchive, everything at once, and the user's preferences.

Notifications are addressed to user ids, so only a verified session has any: any other
session sees an empty inbox, and naming a notification answers 404 as if it did not
exist (another user's id answers exactly the same). Every change that moved something
is a stream event to the user's other devices (``countersign.notifications.states``)."""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from fastapi import APIRouter, Request
from sqlalchemy import Connection
from starlette.responses import Response

from ... import notifications
from ...notifications.rules import category_name
from ...storage import notifications as notification_rows
from ...storage.notifications import Transition
from ...vocabulary.clock import utcnow
from ...vocabulary.stream import StreamItem
from ..auth import SessionDep, widget_session_and_read
from ..body import read_model
from ..errors import ApiError, documented_errors
from ..openapi import json_body
from ..sessions import SessionView
from ..state import ServerState, StateDep
from .conversations import json_response
from .notification_bodies import CategoryText, Listing, ListingDep, PreferencesBody, changes_of

router = APIRouter(prefix="/v1/widget", tags=["widget"])

_EMPTY_COUNTS: dict[str, Any] = {"unread": 0, "unseen": 0, "categories": {}}
_NOT_FOUND = documented_errors({404: "not_found"})


class Scope(msgspec.Struct, forbid_unknown_fields=True):
    category: CategoryText | None = None


def _category(value: str | None) -> str | None:
    return None if value is None else category_name(value)


@router.get(
    "/notifications",
    summary="Notifications, newest first (without status: all not archived), with the unread count",
    responses=documented_errors({422: "invalid_request"}),
)
async def list_notifications(session: SessionDep, state: StateDep, listing: ListingDep) -> Response:
    if not session.verified:
        return json_response(_NONE_LISTED)
    document = await state.backend.database.read(lambda c: _listed(c, session, listing))
    return json_response(document)


# GETs of exactly this path with no query or a plain ``?limit=N`` are answered ahead of
# the app by server/ahead.py, through this; the route stays for the rest.
async def list_for_session(request: Request, limit: int) -> Response:
    """The inbox's first page, read in the transaction that checks the session."""
    state: ServerState = request.app.state.countersign
    listing = Listing(None, None, limit, None)

    def read(connection: Connection, session: SessionView) -> dict[str, Any]:
        return _listed(connection, session, listing) if session.verified else _NONE_LISTED

    _, document = await widget_session_and_read(request, state, read)
    return json_response(document)


_NONE_LISTED: dict[str, Any] = {"data": [], "next_cursor": None, "unread_count": 0}


def _listed(connection: Connection, session: SessionView, listing: Listing) -> dict[str, Any]:
    return notification_rows.list_notifications(
        connection,
        session.contact_id,
        view=listing.view("inbox"),
        category=listing.category,
        limit=listing.limit,
        cursor=listing.cursor,
    )


@router.get(
    "/notifications/counts",
    summary="Unread and unseen counts, and unread per category (not archived)",
)
async def notification_counts(session: SessionDep, state: StateDep) -> Response:
    if not session.verified:
        return json_response(_EMPTY_COUNTS)
    counts = await state.backend.database.read(
        lambda c: notification_rows.counts(c, session.contact_id)
    )
    return json_response(counts)


@router.post(
    "/notifications/seen",
    summary="The bell was opened: its badge clears; nothing is marked read",
)
async def mark_seen(session: SessionDep, state: StateDep) -> Response:
    if not session.verified:
        return json_response(_EMPTY_COUNTS)
    now = utcnow()
    counts = await state.commit_and_publish(
        lambda c: notifications.mark_seen(c, session.app_id, session.contact_id, now)
    )
    return json_response(counts)


async def _everything(
    request: Request, session: SessionDep, state: StateDep, transition: Literal["read", "archive"]
) -> Response:
    # The body is optional: a bare POST covers every category.
    scope = (
        await read_model(request, Scope, state.settings.max_body_bytes)
        if await request.body()
        else Scope()
    )
    category = _category(scope.category)
    if not session.verified:
        return json_response({"ids": [], "category": category, "counts": _EMPTY_COUNTS})
    now = utcnow()
    document = await state.commit_and_publish(
        lambda c: notifications.move_all(
            c, session.app_id, session.contact_id, transition, now, category
        )
    )
    return json_response(document)


_ALL_DOCS: dict[str, Any] = {
    "openapi_extra": json_body(Scope, required=False),
    "responses": documented_errors({422: "invalid_request"}),
}


@router.post(
    "/notifications/read-all",
    summary="Mark every notification read that is not archived (optionally of one category)",
    **_ALL_DOCS,
)
async def read_all(request: Request, session: SessionDep, state: StateDep) -> Response:
    return await _everything(request, session, state, "read")


@router.post(
    "/notifications/archive-all",
    summary="Archive every notification not archived yet (optionally of one category)",
    **_ALL_DOCS,
)
async def archive_all(request: Request, session: SessionDep, state: StateDep) -> Response:
    return await _everything(request, session, state, "archive")


async def _move(
    notification_id: str, session: SessionDep, state: StateDep, transition: Transition
) -> Response:
    if not session.verified:
        raise ApiError(404, "not_found", "no such notification")
    now = utcnow()

    def work(connection: Connection) -> tuple[dict[str, Any] | None, tuple[StreamItem, ...]]:
        moved = notifications.move(
            connection, session.app_id, session.contact_id, notification_id, transition, now
        )
        return (None, ()) if moved is None else moved

    notification = await state.commit_and_publish(work)
    if notification is None:
        raise ApiError(404, "not_found", "no such notification")
    return json_response(notification)


@router.post(
    "/notifications/{notification_id}/read",
    summary="Mark a notification read",
    responses=_NOT_FOUND,
)
async def read(notification_id: str, session: SessionDep, state: StateDep) -> Response:
    return await _move(notification_id, session, state, "read")


@router.post(
    "/notifications/{notification_id}/unread",
    summary="Mark a notification unread again",
    responses=_NOT_FOUND,
)
async def unread(notification_id: str, session: SessionDep, state: StateDep) -> Response:
    return await _move(notification_id, session, state, "unread")


@router.post(
    "/notifications/{notification_id}/archive",
    summary="Archive a notification (it leaves the inbox and the counts)",
    responses=_NOT_FOUND,
)
async def archive(notification_id: str, session: SessionDep, state: StateDep) -> Response:
    return await _move(notification_id, session, state, "archive")


@router.post(
    "/notifications/{notification_id}/unarchive",
    summary="Bring an archived notification back to the inbox",
    responses=_NOT_FOUND,
)
async def unarchive(notification_id: str, session: SessionDep, state: StateDep) -> Response:
    return await _move(notification_id, session, state, "unarchive")


@router.get("/preferences", summary="This user's notification preferences, per category")
async def get_preferences(session: SessionDep, state: StateDep) -> Response:
    contact_id = session.contact_id if session.verified else None
    document = await state.backend.database.run(
        lambda c: notifications.preferences(c, session.app_id, contact_id)
    )
    return json_response(document)


@router.put(
    "/preferences",
    summary="Set this user's notification preferences (the categories named; the rest stay)",
    openapi_extra=json_body(PreferencesBody),
    responses=documented_errors(
        {
            403: "forbidden: only a verified user has preferences",
            422: "unknown_category, invalid_request",
        }
    ),
)
async def put_preferences(request: Request, session: SessionDep, state: StateDep) -> Response:
    changes = changes_of(await read_model(request, PreferencesBody, state.settings.max_body_bytes))
    if not session.verified:
        raise ApiError(403, "forbidden", "only a verified user has notification preferences")
    now = utcnow()

    def work(connection: Connection) -> tuple[dict[str, Any], tuple[StreamItem, ...]]:
        document, event = notifications.set_preferences(
            connection, session.app_id, session.contact_id, changes, now
        )
        return document, (event,)

    return json_response(await state.commit_and_publish(work))
