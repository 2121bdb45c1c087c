"""Logging in and out, the first-run page, and picking an app."""

from __future__ import annotations

import shlex
from datetime import timedelta
from typing import Any, Final
from urllib.parse import quote

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ....operators import passwords
from ....settings import default_data_dir
from ....storage import apps, operators
from ....vocabulary.clock import utcnow
from ....vocabulary.ids import token_digest
from ...state import StateDep
from ..auth import OperatorDep, dashboard_limits, login_account, operator_of, peer
from ..errors import RateLimited
from ..pages import page
from ..password_gate import PasswordGate
from ..rendering import render
from ..route import LOGIN_PATH, csrf_cookie, dashboard_router, form_of
from ..security import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    clear_cookie,
    cookie_token,
    csrf_token,
    is_https,
    new_token,
    set_cookie,
)

router = dashboard_router()

SESSION_TTL: Final = timedelta(hours=12)
LOGIN_COOKIE_SECONDS: Final = 3600


def safe_next(target: str | None) -> str:
    """Where to go after logging in: only a dashboard path of this server, so the
    login form cannot be used to bounce an operator to another site."""
    if (
        target
        and target.startswith("/dashboard")
        and not target.startswith(LOGIN_PATH)
        and len(target) <= 500
        and all(ch.isprintable() and not ch.isspace() and ch != "\\" for ch in target)
    ):
        return target
    return "/dashboard"


def _first_run_command(state: StateDep) -> str:
    """The command that creates the first owner, for this server's data."""
    command = "countersign operators create you@example.com --password-stdin --role owner"
    settings = state.settings
    if settings.database_url:
        return command + " --database-url URL  (the same URL the server uses)"
    if settings.data_dir != default_data_dir():
        return command + f" --data-dir {shlex.quote(str(settings.data_dir))}"
    return command


async def _login_page(
    request: Request,
    state: StateDep,
    *,
    email: str = "",
    target: str = "/dashboard",
    error: str | None = None,
    status: int = 200,
) -> Response:
    count = await state.backend.database.run(operators.operator_count)
    if count == 0:
        first_run = {"command": _first_run_command(state), "operator": None, "csrf": ""}
        return render("first_run.html", {**first_run, "app": None, "apps": [], "section": ""})
    context = {"email": email, "next": target, "error": error}
    return pre_session_page(request, state, "login.html", context, status=status)


def pre_session_page(
    request: Request, state: StateDep, template: str, context: dict[str, Any], *, status: int
) -> Response:
    """A page for someone not logged in (the login form, a one-time link): its forms'
    CSRF token is keyed by the pre-session cookie, set here when the browser has none."""
    login_token = cookie_token(request, LOGIN_COOKIE)
    fresh = login_token is None
    if login_token is None:
        login_token = new_token()
    base: dict[str, Any] = {"operator": None, "app": None, "apps": [], "section": ""}
    response = render(template, {**base, **context, "csrf": csrf_token(login_token)}, status=status)
    if fresh:
        secure = is_https(request, state.settings.trusted_proxies)
        set_cookie(response, LOGIN_COOKIE, login_token, max_age=LOGIN_COOKIE_SECONDS, secure=secure)
    return response


def start_session(request: Request, state: StateDep, response: Response, token: str) -> Response:
    """``response`` with the new session's cookie (and the pre-session cookie gone)."""
    secure = is_https(request, state.settings.trusted_proxies)
    set_cookie(
        response, SESSION_COOKIE, token, max_age=int(SESSION_TTL.total_seconds()), secure=secure
    )
    clear_cookie(response, LOGIN_COOKIE, secure=secure)
    return response


async def _rehash(gate: PasswordGate, stored_hash: str, password: str) -> str | None:
    """A hash at the current parameters when the stored one is weaker; not now (but
    at a later login) when the server is busy checking other passwords."""
    if not passwords.needs_rehash(stored_hash):
        return None
    try:
        return await gate.hash(password)
    except RateLimited:
        return None


@router.get("/dashboard")
async def home(request: Request, state: StateDep) -> Response:
    operator = await operator_of(request, state)
    if operator is None:
        return RedirectResponse(LOGIN_PATH, status_code=303)
    every_app = await state.backend.database.run(apps.list_apps)
    if len(every_app) == 1:
        return RedirectResponse(f"/dashboard/apps/{every_app[0].id}/inbox", status_code=303)
    return RedirectResponse("/dashboard/apps", status_code=303)


@router.get("/dashboard/login")
async def login_form(request: Request, state: StateDep) -> Response:
    target = safe_next(request.query_params.get("next"))
    if await operator_of(request, state) is not None:
        return RedirectResponse(target, status_code=303)
    return await _login_page(request, state, target=target)


@router.post("/dashboard/login")
@csrf_cookie(LOGIN_COOKIE)
async def login(request: Request, state: StateDep) -> Response:
    form = form_of(request)
    email = form.get("email", "")[:320]
    password = form.get("password", "")
    target = safe_next(form.get("next"))
    limits = dashboard_limits(request)
    ip = peer(request, state)
    # Counted before the hash runs, given back if the password is right (attempts.py).
    async with limits.logins.attempt(login_account(email), ip) as attempt:
        found = await state.backend.database.run(lambda c: operators.credentials(c, email))
        stored = found[1] if found else None
        if not await limits.passwords.check(stored, password) or found is None:
            attempt.failed()
            return await _login_page(
                request,
                state,
                email=email,
                target=target,
                error="That email and password do not match an operator.",
                status=401,
            )
    operator, stored_hash = found
    token = new_token()
    digest = token_digest(token)
    now = utcnow()
    rehash = await _rehash(limits.passwords, stored_hash, password)

    def open_session(connection: Connection) -> None:
        operators.open_session(
            connection, operator.id, digest, now=now, ttl=SESSION_TTL, client_ip=ip
        )
        if rehash is not None:
            operators.update_password_hash(connection, operator.id, rehash)

    await state.backend.database.run(open_session)
    return start_session(request, state, RedirectResponse(target, status_code=303), token)


@router.post("/dashboard/logout")
async def logout(request: Request, state: StateDep) -> Response:
    token = cookie_token(request, SESSION_COOKIE)
    if token is not None:
        digest = token_digest(token)
        await state.backend.database.run(lambda c: operators.close_session(c, digest, utcnow()))
    response = RedirectResponse(LOGIN_PATH, status_code=303)
    clear_cookie(response, SESSION_COOKIE, secure=is_https(request, state.settings.trusted_proxies))
    return response


@router.get("/dashboard/apps")
async def app_list(request: Request, state: StateDep, operator: OperatorDep) -> Response:
    return await page(request, state, "apps.html", operator=operator, section="apps")


@router.get("/dashboard/apps/{app_id}")
async def app_home(app_id: str) -> Response:
    return RedirectResponse(f"/dashboard/apps/{quote(app_id, safe='')}/inbox", status_code=303)
