"""The Team page: who can log in, adding an operator through a one-time link, display
names, roles, deactivation. Owners only (an agent gets 403 for the page and for every
action); the rules are :mod:`countersign.operators.team`'s.

A new link is shown once, in the answer to the form that made it; only its digest is
stored, so it cannot be shown again (a new one can be made, which ends the old one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeVar

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from .... import team as workflow
from ....operators import team
from ....storage import invitations, operators
from ....storage.errors import NotFound, StorageError
from ....storage.operators import OperatorRecord
from ....vocabulary.clock import utcnow
from ....vocabulary.stream import StreamItem
from ...errors import storage_status
from ...state import ServerState, StateDep
from ..auth import OwnerDep, peer
from ..pages import page
from ..route import dashboard_router, form_of
from ..security import is_https

router = dashboard_router()

TEAM_PATH: Final = "/dashboard/team"
RECENT_CHANGES: Final = 20
AUDITED: Final = (
    "operator.invited",
    "operator.link_renewed",
    "operator.joined",
    "operator.renamed",
    "operator.role_changed",
    "operator.deactivated",
    "operator.reactivated",
)
T = TypeVar("T")


def link_url(request: Request, state: ServerState, path: str) -> str:
    """The address of ``path`` as the owner's browser reached this server (the Host it
    sent; https when a trusted proxy says so), for them to hand on."""
    scheme = "https" if is_https(request, state.settings.trusted_proxies) else "http"
    host = request.headers.get("host") or f"{state.settings.host}:{state.settings.port}"
    return f"{scheme}://{host}{path}"


async def _team_page(
    request: Request,
    state: ServerState,
    operator: OperatorRecord,
    *,
    status: int = 200,
    **extra: Any,
) -> Response:
    now = utcnow()

    def load(connection: Connection) -> dict[str, Any]:
        return {
            "members": operators.list_operators(connection),
            "links_until": invitations.pending_until(connection, now),
            "audit": operators.recent_audit(
                connection, None, limit=RECENT_CHANGES, actions=AUDITED
            ),
        }

    loaded = await state.backend.database.run(load)
    names = {member.id: member.email for member in loaded["members"]}
    defaults: dict[str, Any] = {"new_link": None, "problem": None, "form": {}}
    return await page(
        request,
        state,
        "team.html",
        operator=operator,
        section="team",
        status=status,
        saved=request.query_params.get("saved"),
        emails=names,
        roles=operators.ROLES,
        ttl_hours=int(state.settings.invitation_ttl.total_seconds() // 3600),
        **{**defaults, **loaded, **extra},
    )


async def _change(
    request: Request,
    state: ServerState,
    operator: OperatorRecord,
    work: Callable[[Connection], T],
    **kept: Any,
) -> T | Response:
    """Run one team change; a refusal (a bad name, the last owner…) is the Team page
    again with the reason and nothing changed (the transaction rolled back)."""
    try:
        return await state.backend.database.run(work)
    except NotFound:
        raise
    except StorageError as error:
        return await _team_page(
            request, state, operator, status=storage_status(error), problem=str(error), **kept
        )


def _saved(what: str) -> Response:
    return RedirectResponse(f"{TEAM_PATH}?saved={what}", status_code=303)


@router.get(TEAM_PATH)
async def team_page(request: Request, state: StateDep, operator: OwnerDep) -> Response:
    return await _team_page(request, state, operator)


@router.post(f"{TEAM_PATH}/invite")
async def invite(request: Request, state: StateDep, operator: OwnerDep) -> Response:
    form = form_of(request)
    email = form.text("email", max_chars=operators.MAX_EMAIL_CHARS)
    name = form.text("name", max_chars=team.MAX_NAME_CHARS * 4)
    role = form.get("role", "agent")
    ip, now, ttl = peer(request, state), utcnow(), state.settings.invitation_ttl
    invited = await _change(
        request,
        state,
        operator,
        lambda c: team.invite_operator(
            c, actor=operator, email=email, role=role, name=name, ttl=ttl, now=now, client_ip=ip
        ),
        form={"email": email, "name": name, "role": role},
    )
    if isinstance(invited, Response):
        return invited
    return await _new_link_page(request, state, operator, invited)


async def _new_link_page(
    request: Request, state: ServerState, operator: OperatorRecord, invited: team.Invited
) -> Response:
    url = link_url(request, state, invited.path)
    new_link = {"operator": invited.operator, "url": url, "expires_at": invited.expires_at}
    return await _team_page(request, state, operator, new_link=new_link)


@router.post(TEAM_PATH + "/{operator_id}/link")
async def renew_link(
    operator_id: str, request: Request, state: StateDep, operator: OwnerDep
) -> Response:
    ip, now, ttl = peer(request, state), utcnow(), state.settings.invitation_ttl
    invited = await _change(
        request,
        state,
        operator,
        lambda c: team.renew_link(
            c, actor=operator, operator_id=operator_id, ttl=ttl, now=now, client_ip=ip
        ),
    )
    if isinstance(invited, Response):
        return invited
    return await _new_link_page(request, state, operator, invited)


@router.post(TEAM_PATH + "/{operator_id}")
async def update(
    operator_id: str, request: Request, state: StateDep, operator: OwnerDep
) -> Response:
    form = form_of(request)
    name = form.text("name", max_chars=team.MAX_NAME_CHARS * 4)
    role = form.text("role", max_chars=20)
    ip, now = peer(request, state), utcnow()

    def work(connection: Connection) -> None:
        common: dict[str, Any] = {"actor": operator, "operator_id": operator_id, "now": now}
        team.rename_operator(connection, name=name, client_ip=ip, **common)
        team.change_role(connection, role=role, client_ip=ip, **common)

    done = await _change(request, state, operator, work)
    return done if isinstance(done, Response) else _saved("changed")


async def _switch(
    request: Request,
    state: ServerState,
    operator: OperatorRecord,
    change: Callable[..., object],
    operator_id: str,
    saved: str,
) -> Response:
    """Deactivate or reactivate ``operator_id`` with ``change`` (a function of
    :mod:`countersign.operators.team`), then back to the page saying ``saved``.

    A deactivation unassigns the operator's conversations: announced here, in the
    same transaction (``operators`` may not import ``team``), and published once
    committed, so every dashboard sees them unassigned at once."""
    ip, now = peer(request, state), utcnow()

    def work(connection: Connection) -> tuple[object, list[StreamItem]]:
        done = change(connection, actor=operator, operator_id=operator_id, now=now, client_ip=ip)
        unassigned = done.unassigned if isinstance(done, team.Deactivated) else ()
        return done, workflow.announce_unassigned(connection, unassigned, operator_id, now)

    done = await _change(request, state, operator, work)
    if isinstance(done, Response):
        return done
    await state.publish(done[1])
    return _saved(saved)


@router.post(TEAM_PATH + "/{operator_id}/deactivate")
async def deactivate(
    operator_id: str, request: Request, state: StateDep, operator: OwnerDep
) -> Response:
    return await _switch(
        request, state, operator, team.deactivate_operator, operator_id, "deactivated"
    )


@router.post(TEAM_PATH + "/{operator_id}/reactivate")
async def reactivate(
    operator_id: str, request: Request, state: StateDep, operator: OwnerDep
) -> Response:
    return await _switch(
        request, state, operator, team.reactivate_operator, operator_id, "reactivated"
    )
