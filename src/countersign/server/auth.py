"""Bearer credentials: widget sessions and server API keys."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from sqlalchemy import Connection

from ..storage import apps, mail_settings
from .errors import ApiError
from .identify.policy import check_origin
from .request_context import note_app
from .sessions import SessionView, open_session_and_read, read_nothing
from .state import ServerState, StateDep

T = TypeVar("T")


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def widget_session(request: Request, state: StateDep) -> SessionView:
    """The live session named by the bearer token, checked against the app's origins."""
    session, _ = await widget_session_and_read(request, state, read_nothing)
    return session


async def widget_session_and_read(
    request: Request, state: ServerState, read: Callable[[Connection, SessionView], T]
) -> tuple[SessionView, T]:
    """:func:`widget_session`, with ``read`` run for the session in the transaction
    that checked it (sessions.open_session_and_read); its result is given out only
    once the origin has passed too."""
    token = bearer_token(request)
    if token is None:
        raise ApiError(401, "invalid_session", "send Authorization: Bearer <session_token>")
    opened = await open_session_and_read(state, token, read)
    if opened is None:
        raise ApiError(401, "invalid_session", "the session is unknown, expired or revoked")
    session, result = opened
    config = await state.directory.get(session.app_id)
    if config is None:
        raise ApiError(401, "invalid_session", "the session's app no longer exists")
    check_origin(config, request.headers.get("origin"))
    note_app(session.app_id)
    return session, result


async def _keyed_app(
    request: Request,
    state: StateDep,
    lookup: Callable[[Connection, str], str | None],
    code: str,
    what: str,
    gone: str,
) -> str:
    """The app whose key of this kind (looked up by its hash) is the bearer token."""
    key = bearer_token(request)
    if key is None or len(key) > 200:
        raise ApiError(401, code, f"send Authorization: Bearer <{what}>")
    app_id = await state.backend.database.run(lambda c: lookup(c, key))
    if app_id is None:
        raise ApiError(401, code, f"the {what} is {gone}")
    note_app(app_id)
    return app_id


async def server_api_app(request: Request, state: StateDep) -> str:
    """The app whose server API key is the bearer token."""
    return await _keyed_app(
        request, state, apps.app_for_api_key, "invalid_api_key", "server API key",
        "unknown or revoked",
    )  # fmt: skip


async def inbound_mail_app(request: Request, state: StateDep) -> str:
    """The app whose inbound key (``countersign mail inbound-key``) is the bearer token."""
    return await _keyed_app(
        request, state, mail_settings.app_for_inbound_key, "invalid_inbound_key",
        "inbound key", "unknown or replaced",
    )  # fmt: skip


SessionDep = Annotated[SessionView, Depends(widget_session)]
ApiAppDep = Annotated[str, Depends(server_api_app)]
