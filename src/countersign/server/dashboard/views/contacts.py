"""The Contacts page: an app's contacts with their badges, a search box, a page at a
time, and one contact with their whole history (conversations, notifications, events,
attributes and metadata). Any operator may look, as in the inbox.

The search is one storage function (``contact_search.search_contacts``), so the page
follows whichever search the server has.
"""

from __future__ import annotations

import contextlib
from typing import Any, Final

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ....storage import contact_search, conversations, events, notifications, revoked_users
from ....storage.cursors import MAX_PAGE
from ...state import StateDep
from ...user_revocation import revoke_user
from ..auth import AppDep, OperatorDep, OwnerDep, peer
from ..errors import BadForm, NotFound
from ..pages import page
from ..route import dashboard_router

router = dashboard_router()

PAGE_SIZE: Final = 50
MAX_CURSOR_CHARS: Final = 200


@router.get("/dashboard/apps/{app_id}/contacts")
async def contacts_page(
    request: Request, state: StateDep, operator: OperatorDep, app: AppDep
) -> Response:
    query = request.query_params.get("q", "")
    cursor = request.query_params.get("cursor") or None
    if len(query) > contact_search.MAX_QUERY_CHARS:
        raise BadForm(f"a search has at most {contact_search.MAX_QUERY_CHARS} characters")
    if cursor is not None and len(cursor) > MAX_CURSOR_CHARS:
        raise BadForm("the cursor is not one this server handed out")
    try:
        found = await state.backend.database.run(
            lambda c: contact_search.search_contacts(c, app.id, query, cursor, limit=PAGE_SIZE)
        )
    except contact_search.InvalidQuery as error:
        raise BadForm(str(error)) from None
    return await page(
        request,
        state,
        "contacts.html",
        operator=operator,
        app=app,
        section="contacts",
        query=query,
        found=found,
        first_page=cursor is None,
    )


@router.get("/dashboard/apps/{app_id}/contacts/{contact_id}")
async def contact_page(
    contact_id: str, request: Request, state: StateDep, operator: OperatorDep, app: AppDep
) -> Response:
    # The recorder holds the latest verified times until its next flush: write them
    # first, so "last verified" is current.
    with contextlib.suppress(Exception):
        await state.recorder.flush()

    def load(connection: Connection) -> dict[str, Any] | None:
        contact = contact_search.contact_in_full(connection, app.id, contact_id)
        if contact is None:
            return None
        return {
            "contact": contact,
            "conversations": conversations.list_conversations(
                connection, contact_id, limit=MAX_PAGE
            ),
            "notifications": notifications.list_notifications(
                connection, contact_id, limit=MAX_PAGE
            ),
            "events": events.list_events(connection, contact_id, limit=MAX_PAGE),
            "revoked_at": (
                revoked_users.revoked_users(connection, app.id).get(contact["user_id"])
                if contact["user_id"]
                else None
            ),
        }

    loaded = await state.backend.database.run(load)
    if loaded is None:
        raise NotFound("This app has no such contact.")
    return await page(
        request,
        state,
        "contact.html",
        operator=operator,
        app=app,
        section="contacts",
        revoked=request.query_params.get("revoked"),
        **loaded,
    )


@router.post("/dashboard/apps/{app_id}/contacts/{contact_id}/revoke")
async def revoke_contact(
    contact_id: str, request: Request, state: StateDep, operator: OwnerDep, app: AppDep
) -> Response:
    """Revoke the contact's user id (SPEC 15): their sessions end on every node, their
    hash is refused, only tokens issued from now on verify. Owners only."""
    contact = await state.backend.database.run(
        lambda c: contact_search.contact_in_full(c, app.id, contact_id)
    )
    if contact is None:
        raise NotFound("This app has no such contact.")
    if not contact["user_id"]:
        raise BadForm("this contact has no user id to revoke")
    revoked = await revoke_user(
        state, app.id, contact["user_id"], actor=operator, client_ip=peer(request, state)
    )
    target = f"/dashboard/apps/{app.id}/contacts/{contact_id}?revoked={len(revoked.ended)}"
    return RedirectResponse(target, status_code=303)
