"""Opening a one-time link: an invited operator chooses a password and is logged in.

The page is for someone not logged in, so its form's CSRF token is keyed by the
pre-session cookie, as the login form's is. A link that is used, expired, revoked or
never existed gets a page saying so (404 for one we never made, 410 for one that is
over), never a 500; nothing is changed by opening or posting it. The password is
checked by the same rules as everywhere (:mod:`countersign.operators.passwords`) and
hashed through the password gate, off the event loop, and only once the link has been
found valid, so a made-up link costs no argon2 work.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ....operators import passwords, team
from ....storage import operators
from ....storage.invitations import InvitationRecord, LinkState
from ....storage.operators import OperatorRecord
from ....vocabulary.clock import utcnow
from ....vocabulary.ids import token_digest
from ...state import ServerState, StateDep
from ..auth import dashboard_limits, peer
from ..route import csrf_cookie, dashboard_router, form_of
from ..security import LOGIN_COOKIE, new_token
from .login import SESSION_TTL, pre_session_page, start_session

router = dashboard_router()

#: What a link that sets no password is, in the words of its page, and its status.
OVER: Final[dict[LinkState, tuple[int, str, str]]] = {
    "used": (
        410,
        "This link has been used",
        "Each link sets a password once. If that was you, log in with the password you chose.",
    ),
    "expired": (
        410,
        "This link has expired",
        "Links to join the team last a limited time. Ask an owner for a new one.",
    ),
    "revoked": (
        410,
        "This link no longer works",
        "An owner made a newer link for this account, or deactivated it. Ask an owner.",
    ),
    "unknown": (
        404,
        "This link is not valid",
        "Check that you copied the whole link, or ask an owner for a new one.",
    ),
    "valid": (200, "", ""),
}


def _over_page(request: Request, state: ServerState, kind: LinkState) -> Response:
    status, title, advice = OVER[kind]
    context = {"link_state": kind, "title": title, "advice": advice}
    return pre_session_page(request, state, "join.html", context, status=status)


async def _found(state: ServerState, token: str) -> InvitationRecord | None:
    now = utcnow()
    return await state.backend.database.run(lambda c: team.check_link(c, token, now))


@router.get(team.JOIN_PATH + "{token}")
async def join_form(token: str, request: Request, state: StateDep) -> Response:
    found = await _found(state, token)
    if found is None or found.state != "valid":
        return _over_page(request, state, found.state if found else "unknown")
    return _password_form(request, state, token, found, None)


def _password_form(
    request: Request,
    state: ServerState,
    token: str,
    found: InvitationRecord,
    problem: str | None,
) -> Response:
    context: dict[str, Any] = {
        "link_state": "valid",
        "email": found.email,
        "expires_at": found.expires_at,
        "problem": problem,
        "action": team.JOIN_PATH + token,
    }
    status = 200 if problem is None else 422
    return pre_session_page(request, state, "join.html", context, status=status)


@router.post(team.JOIN_PATH + "{token}")
@csrf_cookie(LOGIN_COOKIE)
async def join(token: str, request: Request, state: StateDep) -> Response:
    form = form_of(request)
    password = form.get("password", "")
    found = await _found(state, token)
    if found is None or found.state != "valid":
        return _over_page(request, state, found.state if found else "unknown")
    problem = None
    if password != form.get("confirm", ""):
        problem = "The two passwords differ. Type the same password twice."
    else:
        try:
            passwords.check_strength(password, found.email)
        except passwords.WeakPassword as weak:
            problem = f"That password cannot be used: {weak}."
    if problem is not None:
        return _password_form(request, state, token, found, problem)

    password_hash = await dashboard_limits(request).passwords.hash(password)
    session = new_token()
    digest, ip, now = token_digest(session), peer(request, state), utcnow()

    def accept(connection: Connection) -> OperatorRecord:
        record = team.accept_link(connection, token, password_hash, now=now, client_ip=ip)
        operators.open_session(
            connection, record.id, digest, now=now, ttl=SESSION_TTL, client_ip=ip
        )
        return record

    try:
        await state.backend.database.run(accept)
    except team.LinkUnusable as refused:  # spent by a racing request meanwhile
        return _over_page(request, state, refused.state)
    return start_session(request, state, RedirectResponse("/dashboard", status_code=303), session)
