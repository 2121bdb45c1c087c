"""Who is asking: the logged-in operator, their role, the app they are looking at, and
the limits on password guesses.

Guesses are limited per (account, client address), per account and, at the login, per
address (:mod:`.attempts`), and the argon2 checks run a bounded number at once
(:mod:`.password_gate`). Both live in the process: with several nodes each keeps its
own, which multiplies an attacker's budget by the node count and no more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Final

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from ...settings import Settings
from ...storage import apps, operators
from ...storage.operators import OperatorRecord
from ...vocabulary.clock import utcnow
from ...vocabulary.ids import token_digest
from ..client_ip import client_ip
from ..limit_counts import Counts
from ..ratelimit import Limit
from ..state import ServerState, StateDep
from .attempts import AttemptLimits, PasswordAttempts
from .errors import NotFound, NotLoggedIn, OwnersOnly
from .password_gate import MIB, PasswordGate
from .security import SESSION_COOKIE, cookie_token

#: A guesser at one address gets 5 tries per account; the owner at another still gets
#: in. Over every address an account gets 50 an hour, and one address 20 over every
#: account (a spray).
LOGIN_LIMITS: Final = AttemptLimits(
    per_account_and_address=Limit(failures=5, window_seconds=900),
    per_account=Limit(failures=50, window_seconds=3600),
    per_address=Limit(failures=20, window_seconds=900),
)
#: Revealing a secret asks a logged-in owner for their password again. A guess there is
#: worth no more than one at the login form, so it is held to the same budgets.
REVEAL_LIMITS: Final = AttemptLimits(
    per_account_and_address=Limit(failures=5, window_seconds=900),
    per_account=Limit(failures=50, window_seconds=3600),
)


@dataclass
class DashboardLimits:
    logins: PasswordAttempts  # keyed by the email typed (known or not)
    reveals: PasswordAttempts  # keyed by the operator's id
    passwords: PasswordGate

    @classmethod
    def for_settings(cls, settings: Settings, counts: Counts | None = None) -> DashboardLimits:
        """``counts``: where the guesses count (the server's, shared with identify's)."""
        return cls(
            PasswordAttempts(
                LOGIN_LIMITS,
                "Too many failed logins. Wait a few minutes and try again.",
                name="login",
                counts=counts,
            ),
            PasswordAttempts(
                REVEAL_LIMITS,
                "Too many wrong passwords. Wait a few minutes.",
                name="reveal",
                counts=counts,
            ),
            PasswordGate.for_budget(
                settings.password_memory_mib * MIB, settings.password_check_wait
            ),
        )


def login_account(email: str) -> str:
    """The key a login's email is counted under: as the lookup matches it."""
    return email.strip().lower()


def dashboard_limits(connection: HTTPConnection) -> DashboardLimits:
    """This server's limits (created with the first request that needs them)."""
    state = connection.app.state
    limits = getattr(state, "dashboard_limits", None)
    if not isinstance(limits, DashboardLimits):
        server = state.countersign
        limits = DashboardLimits.for_settings(server.settings, server.limits.counts)
        state.dashboard_limits = limits
    return limits


def peer(request: Request, state: ServerState) -> str:
    return client_ip(request, state.settings.trusted_proxies)


async def audit(
    request: Request,
    state: ServerState,
    operator: OperatorRecord,
    app_id: str,
    action: str,
    target: str | None = None,
) -> None:
    """Record that ``operator`` did ``action`` to ``app_id`` (``target``: which thing)."""
    ip = peer(request, state)
    now = utcnow()
    await state.backend.database.run(
        lambda c: operators.record_audit(
            c, operator, action, app_id=app_id, target=target, client_ip=ip, now=now
        )
    )


async def operator_of(connection: HTTPConnection, state: ServerState) -> OperatorRecord | None:
    """The operator whose session cookie this request carries, if it is live."""
    token = cookie_token(connection, SESSION_COOKIE)
    if token is None:
        return None
    digest = token_digest(token)
    return await state.backend.database.run(
        lambda c: operators.session_operator(c, digest, utcnow())
    )


async def current_operator(request: Request, state: StateDep) -> OperatorRecord:
    operator = await operator_of(request, state)
    if operator is None:
        raise NotLoggedIn("log in to continue")
    request.state.operator = operator
    return operator


OperatorDep = Annotated[OperatorRecord, Depends(current_operator)]


async def current_owner(operator: OperatorDep) -> OperatorRecord:
    if not operator.is_owner:
        raise OwnersOnly(
            "Only owners can see and change this app's settings, secrets and keys. "
            "Agents answer conversations in the inbox."
        )
    return operator


OwnerDep = Annotated[OperatorRecord, Depends(current_owner)]


async def current_app(app_id: str, state: StateDep) -> apps.AppRecord:
    try:
        return await state.backend.database.run(lambda c: apps.get_app(c, app_id))
    except apps.AppNotFound:
        raise NotFound("There is no such app. Pick one from the list of apps.") from None


AppDep = Annotated[apps.AppRecord, Depends(current_app)]
