"""The ``Allow`` header of a 405: every method any route serves at the path.

Starlette answers 405 from the first route whose path matches, naming only that route's
methods; a path served by two routes (``GET`` and ``POST`` of a list) then advertised
one. A 405 is rare, so walking the routes on each is cheap enough."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from fastapi.routing import iter_route_contexts


def _routes(routes: Iterable[Any]) -> Iterator[tuple[Any, set[str] | None]]:
    # FastAPI nests included routers: ``app.routes`` is not flat.
    for context in iter_route_contexts(list(routes)):
        yield getattr(context, "path_regex", None), context.methods


def allowed_methods(app_routes: Iterable[Any], path: str) -> list[str]:
    methods: set[str] = set()
    for regex, route_methods in _routes(app_routes):
        if regex is not None and route_methods and regex.match(path):
            methods |= route_methods
    return sorted(methods)
