"""Who is asking: the logged-in operator, their role, the app they are looking at, and
the limits on failed logins.

Failed logins are limited per client IP and per email (a sliding window of failures,
the same limiter identify uses): a guesser gets a few tries per account and a few
dozen per address, then 429 with Retry-After. The limits live in the process; with
several nodes each keeps its own, which multiplies an attacker's budget by the node
count and no more. The argon2 checks themselves run a bounded number at once
(:mod:`.password_gate`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Final

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from ..server.client_ip import client_ip
from ..server.ratelimit import FailureLimiter, Limit
from ..server.state import ServerState, StateDep
from ..settings import Settings
from ..storage import apps, operators
from ..storage.ids import token_digest
from ..storage.models import utcnow
from ..storage.operators import OperatorRecord
from .errors import NotFound, NotLoggedIn, OwnersOnly, RateLimited
from .password_gate import MIB, PasswordGate
from .security import SESSION_COOKIE, cookie_token

LOGIN_FAILURES_PER_EMAIL: Final = Limit(failures=5, window_seconds=900)
LOGIN_FAILURES_PER_IP: Final = Limit(failures=20, window_seconds=900)
REVEAL_FAILURES_PER_OPERATOR: Final = Limit(failures=5, window_seconds=900)


@dataclass
class DashboardLimits:
    passwords: PasswordGate
    by_email: FailureLimiter = field(
        default_factory=lambda: FailureLimiter(LOGIN_FAILURES_PER_EMAIL)
    )
    by_ip: FailureLimiter = field(default_factory=lambda: FailureLimiter(LOGIN_FAILURES_PER_IP))
    reveals: FailureLimiter = field(
        default_factory=lambda: FailureLimiter(REVEAL_FAILURES_PER_OPERATOR)
    )

    @classmethod
    def for_settings(cls, settings: Settings) -> DashboardLimits:
        budget = settings.password_memory_mib * MIB
        return cls(PasswordGate.for_budget(budget, settings.password_check_wait))

    def check_login(self, ip: str, email: str) -> None:
        waits = [self.by_ip.retry_after(ip), self.by_email.retry_after(email.strip().lower())]
        known = [wait for wait in waits if wait is not None]
        if known:
            raise RateLimited(
                "Too many failed logins. Wait a few minutes and try again.",
                retry_after=max(known),
            )

    def login_failed(self, ip: str, email: str) -> None:
        self.by_ip.fail(ip)
        self.by_email.fail(email.strip().lower()[:255])


def dashboard_limits(connection: HTTPConnection) -> DashboardLimits:
    """This server's limits (created with the first request that needs them)."""
    state = connection.app.state
    limits = getattr(state, "dashboard_limits", None)
    if not isinstance(limits, DashboardLimits):
        limits = DashboardLimits.for_settings(state.countersign.settings)
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
