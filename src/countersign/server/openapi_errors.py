"""Every status a route can answer, in the OpenAPI document, derived from the route.

A route's own decorator documents what is particular to it (a 429 of its limit, say).
What follows from how it is built is added here, so it cannot be forgotten on a new
route: every route can answer 400 (a NUL in the URL is refused before routing); a route
behind a session answers 401 and, for a page's origin, 403; one behind an API key
answers 401; one that reads a JSON body answers 400 (not JSON), 413 (too large), 415
(not application/json) and 422; one with path parameters answers 404 (they name
nothing this caller can see) and, as one with query parameters, 422. The bearer
credentials are declared as security schemes, so a generated client (or a fuzzer)
knows which token each route takes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, Final

from fastapi import APIRouter
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from .auth import inbound_mail_app, server_api_app, widget_session
from .errors import documented_error, merged_description

SECURITY_SCHEMES: Final = {
    "session": {
        "type": "http",
        "scheme": "bearer",
        "description": "A widget session token, from POST /v1/widget/identify",
    },
    "inboundKey": {
        "type": "http",
        "scheme": "bearer",
        "description": "An app's inbound mail key (countersign mail inbound-key APP)",
    },
    "apiKey": {
        "type": "http",
        "scheme": "bearer",
        "description": "A server API key (countersign apps create, or keys create)",
    },
}
_SCHEME_OF: Final[dict[Callable[..., Any], str]] = {
    widget_session: "session",
    server_api_app: "apiKey",
    inbound_mail_app: "inboundKey",
}


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _statuses(route: APIRoute, scheme: str | None) -> dict[int, str]:
    statuses = {
        400: "bad_request, invalid_json or client_disconnected: a NUL in the URL, a body "
        "that is not JSON, a client that left mid-body"
    }
    if scheme == "session":
        statuses[401] = "invalid_session: no, an expired or a revoked session token"
        statuses[403] = "origin_not_allowed: the page's origin may not use this app"
    elif scheme == "apiKey":
        statuses[401] = "invalid_api_key: no, an unknown or a revoked API key"
    elif scheme == "inboundKey":
        statuses[401] = "invalid_inbound_key: no, an unknown or a replaced inbound key"
    if "requestBody" in (route.openapi_extra or {}):
        statuses[413] = "payload_too_large"
        statuses[415] = "unsupported_media_type: send the body as application/json"
        statuses[422] = "invalid_request"
    if route.dependant.path_params:
        statuses[404] = "not_found: the path names nothing this caller can see"
    path, query = _parameters(route.dependant)
    if path or query:
        codes = ["invalid_request"]
        if "user_id" in path:
            codes.append("invalid_identifier")
        if "cursor" in query:
            codes.append("invalid_cursor")
        statuses[422] = ", ".join(codes)
    return statuses


def _parameters(dependant: Dependant) -> tuple[set[str], set[str]]:
    """The names of the path and query parameters a route reads, its dependencies'
    included (a listing's ``cursor`` comes from one)."""
    path = {param.name for param in dependant.path_params}
    query = {param.name for param in dependant.query_params}
    for sub in dependant.dependencies:
        sub_path, sub_query = _parameters(sub)
        path |= sub_path
        query |= sub_query
    return path, query


def document_route_errors(routers: Iterable[APIRouter]) -> dict[tuple[str, str], str]:
    """Add each route's implied statuses to its responses (its own entries win); the
    security scheme of each (path, method) that takes a credential. Called with the
    routers before the app includes them (their routes carry their full paths)."""
    security: dict[tuple[str, str], str] = {}
    for route in (route for router in routers for route in router.routes):
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        scheme = next((_SCHEME_OF[c] for c in _calls(route.dependant) if c in _SCHEME_OF), None)
        for status, implied in _statuses(route, scheme).items():
            own = route.responses.get(status)
            if own is None:
                route.responses[status] = documented_error(implied)
            elif str(own.get("description", "")) and "content" in own:
                description = merged_description(str(own["description"]), implied)
                route.responses[status] = documented_error(description)
        if scheme is not None:
            for method in route.methods or ():
                security[(route.path_format, method.lower())] = scheme
    return security
