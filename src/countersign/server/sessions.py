"""A widget request's session: its signed token (session_tokens.py) checked against
what the browser's session acts as now (its visitor row)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Connection

from ..storage.contacts import IdentityStatus
from ..storage.identities import BrowserSession, browser_session
from ..vocabulary.clock import utcnow
from .session_tokens import TokenClaims
from .state import ServerState

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SessionView:
    """A live session: everything a widget request is authorised by."""

    id: str
    app_id: str
    contact_id: str
    visitor_id: str
    epoch: int
    status: IdentityStatus
    secret_id: str | None
    expires_at: datetime

    @property
    def verified(self) -> bool:
        return self.status == "verified"


def live_session(
    claims: TokenClaims, browser: BrowserSession | None, now: datetime
) -> SessionView | None:
    """The session an authentic token stands for, unless it has ended: expired, its
    browser's visitor retired (logout, another identity), the secret it names revoked
    or expired, or the browser identified under another secret since."""
    if (
        browser is None
        or claims.expires_at <= now
        or browser.epoch != claims.epoch
        or browser.contact_id is None
        or browser.status is None
        or browser.secret_id != claims.secret_id
        or not browser.secret_active(now)
    ):
        return None
    return SessionView(
        id=claims.session_id,
        app_id=browser.app_id,
        contact_id=browser.contact_id,
        visitor_id=claims.visitor_id,
        epoch=claims.epoch,
        status=browser.status,
        secret_id=browser.secret_id,
        expires_at=claims.expires_at,
    )


def has_ended(session: SessionView, browser: BrowserSession | None, now: datetime) -> bool:
    """Whether a session found live earlier has ended since (stream rechecks)."""
    claims = TokenClaims(
        session.id, session.visitor_id, session.epoch, session.expires_at, session.secret_id
    )
    return live_session(claims, browser, now) is None


async def open_session(state: ServerState, token: str) -> SessionView | None:
    """The live session of a bearer token, or None (unknown, forged, ended)."""
    opened = await open_session_and_read(state, token, read_nothing)
    return None if opened is None else opened[0]


def read_nothing(_connection: Connection, _session: SessionView) -> None:
    """The read of a caller that wants only the session checked."""
    return None


async def open_session_and_read(
    state: ServerState, token: str, read: Callable[[Connection, SessionView], T]
) -> tuple[SessionView, T] | None:
    """:func:`open_session`, and ``read`` for a live one in the same read transaction
    (a widget read costs one transaction, not two; the snapshot the session was
    checked in is the one ``read`` sees). None: no live session, and nothing read."""
    claims = state.session_tokens.open(token)
    if claims is None or claims.expires_at <= utcnow():
        return None  # refused without touching the database

    def check_then_read(connection: Connection) -> tuple[SessionView, T] | None:
        session = live_session(claims, browser_session(connection, claims.visitor_id), utcnow())
        return None if session is None else (session, read(connection, session))

    return await state.backend.database.read(check_then_read)
