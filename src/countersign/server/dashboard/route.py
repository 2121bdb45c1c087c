"""The route class of every dashboard page: CSRF before, security headers after.

Doing both here, rather than in each view, means no state-changing route can forget
its CSRF check and no page can go out without its Content-Security-Policy. Errors
become HTML pages here (the server's own handlers answer JSON, which is right for the
API and wrong for a person in a browser).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Final, TypeVar
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from ...storage.errors import StorageError
from ..errors import storage_status
from .errors import CsrfRefused, DashboardError, NotLoggedIn
from .forms import EMPTY, Form, read_form
from .rendering import render
from .security import (
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    add_security_headers,
    cookie_token,
    csrf_matches,
    csrf_token,
)

SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
LOGIN_PATH: Final = "/dashboard/login"
MAX_FORM_BYTES: Final = 256 * 1024  # a 10,000-character reply, URL-encoded

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def csrf_cookie(name: str) -> Callable[[Endpoint], Endpoint]:
    """Check this endpoint's CSRF token against cookie ``name`` (the login form uses
    the pre-session cookie; everything else the session cookie)."""

    def mark(endpoint: Endpoint) -> Endpoint:
        endpoint.csrf_cookie = name  # type: ignore[attr-defined]
        return endpoint

    return mark


def form_of(request: Request) -> Form:
    """The form the route class read and checked before the view ran."""
    form = getattr(request.state, "form", None)
    return form if isinstance(form, Form) else EMPTY


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


async def _check_csrf(request: Request, cookie_name: str) -> None:
    form = EMPTY
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        form = await read_form(request, MAX_FORM_BYTES)
    request.state.form = form
    if cookie_name == SESSION_COOKIE and cookie_token(request, cookie_name) is None:
        raise NotLoggedIn("log in to continue")
    presented = request.headers.get(CSRF_HEADER) or form.get(CSRF_FIELD)
    if not csrf_matches(cookie_token(request, cookie_name), presented):
        raise CsrfRefused(
            "The form's security token is missing or belongs to another session. "
            "Go back, reload the page and try again."
        )


def error_response(request: Request, error: DashboardError) -> Response:
    if isinstance(error, NotLoggedIn) and not wants_json(request):
        target = LOGIN_PATH
        if request.method == "GET" and request.url.path != LOGIN_PATH:
            path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            target += "?next=" + quote(path, safe="")
        return RedirectResponse(target, status_code=303)
    headers = {}
    if retry := getattr(error, "retry_after", None):
        headers["retry-after"] = str(retry)
    if wants_json(request):
        return JSONResponse(
            {"error": {"code": error.code, "message": error.message}},
            status_code=error.status,
            headers=headers,
        )
    token = cookie_token(request, SESSION_COOKIE)
    operator = getattr(request.state, "operator", None)
    context: dict[str, Any] = {
        "operator": operator,
        "app": None,
        "apps": [],
        "section": "",
        "csrf": csrf_token(token) if token and operator else "",
        "error": error,
    }
    return render("error.html", context, status=error.status, headers=headers)


class DashboardRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        cookie_name: str = getattr(self.endpoint, "csrf_cookie", SESSION_COOKIE)

        async def guarded(request: Request) -> Response:
            try:
                if request.method not in SAFE_METHODS:
                    await _check_csrf(request, cookie_name)
                response = await handler(request)
            except DashboardError as error:
                response = error_response(request, error)
            except StorageError as error:  # what a view did not turn into its own words
                problem = DashboardError(str(error), status=storage_status(error))
                response = error_response(request, problem)
            except RequestValidationError:
                response = error_response(request, DashboardError("a parameter is invalid"))
            except HTTPException as error:
                problem = DashboardError(str(error.detail), status=error.status_code)
                response = error_response(request, problem)
            add_security_headers(response)
            return response

        return guarded


def dashboard_router() -> APIRouter:
    """A router whose routes are :class:`DashboardRoute` and stay out of the OpenAPI
    document (these are pages, not API)."""
    return APIRouter(route_class=DashboardRoute, include_in_schema=False)
