"""Every HTTP error is ``{"error": {"code", "message"}}`` with a 4xx status.

Handlers raise :class:`ApiError` (or a storage error mapped here); the handlers below
turn those, and whatever FastAPI or Starlette raise themselves, into that one shape.
Nothing the client sends may produce a 500.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse, Response

from ..attachments.checks import Refused
from ..storage.errors import Conflict, Invalid, NotFound, StorageError
from .allowed_methods import allowed_methods

log = logging.getLogger("countersign.server")

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
}


class ApiError(Exception):
    """An error answer: HTTP status, stable machine code, human message."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


def api_error_response(error: ApiError) -> JSONResponse:
    return error_response(error.status, error.code, error.message, error.headers)


def client_gone_response() -> JSONResponse:
    # The client left mid-body: nobody reads this answer, and it is no server error.
    return error_response(400, "client_disconnected", "the client closed the request")


ERROR_REF: Final = "#/components/schemas/Error"
_CODE = re.compile(r"[a-z][a-z0-9_]*")
_ASIDE = re.compile(r"\s*\([^)]*\)")


def codes_in(description: str) -> list[str]:
    """The error codes a response description begins with.

    Descriptions are written ``code[, code ...][ or code][: why]``, a code may carry an
    aside in parentheses, and the first piece that is not a code ends the list
    (``rate_limited, with Retry-After``)."""
    head = _ASIDE.sub("", description).split(":", 1)[0]
    codes: list[str] = []
    for piece in re.split(r",\s*|\s+or\s+", head):
        if not _CODE.fullmatch(piece.strip()):
            break
        codes.append(piece.strip())
    return codes


def error_schema(codes: list[str]) -> dict[str, Any]:
    """The one error shape, with ``code`` one of ``codes`` (any string for none)."""
    if not codes:
        return {"$ref": ERROR_REF}
    code = {"type": "string", "enum": codes}
    return {
        "allOf": [
            {"$ref": ERROR_REF},
            {"type": "object", "properties": {"error": {"properties": {"code": code}}}},
        ]
    }


def documented_error(description: str) -> dict[str, Any]:
    schema = error_schema(codes_in(description))
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def documented_errors(codes: Mapping[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for error statuses, each in the one error shape, its
    ``code`` one of those its description begins with (:func:`codes_in`)."""
    return {status: documented_error(text) for status, text in codes.items()}


def merged_description(own: str, implied: str) -> str:
    """A route's own description of a status, with the codes the route's shape implies
    for it added: both can be answered."""
    missing = [code for code in codes_in(implied) if code not in codes_in(own)]
    if not missing:
        return own
    head, colon, why = own.partition(":")
    return f"{head}, {', '.join(missing)}{colon}{why}"


#: The one table from storage's error kinds to HTTP (storage/errors.py).
STORAGE_STATUS: Final[dict[type[StorageError], int]] = {NotFound: 404, Invalid: 422, Conflict: 409}


def storage_status(error: StorageError) -> int:
    for kind, status in STORAGE_STATUS.items():
        if isinstance(error, kind):
            return status
    return 400


def install_error_handlers(app: FastAPI) -> None:
    async def api_error(_request: Request, error: Exception) -> Response:
        assert isinstance(error, ApiError)
        return api_error_response(error)

    async def storage_error(_request: Request, error: Exception) -> Response:
        assert isinstance(error, StorageError)
        return error_response(storage_status(error), error.code, str(error))

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        code = _STATUS_CODES.get(error.status_code, "error")
        message = error.detail if isinstance(error.detail, str) else code.replace("_", " ")
        headers = error.headers
        if error.status_code == 405:
            allow = allowed_methods(request.app.routes, request.scope["path"])
            headers = {**(headers or {}), "Allow": ", ".join(allow)}
        return error_response(error.status_code, code, message, headers)

    async def validation_error(_request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
        message = f"{where}: {first.get('msg', 'invalid')}" if where else "invalid request"
        return error_response(422, "invalid_request", message)

    async def refused(_request: Request, error: Exception) -> Response:
        assert isinstance(error, Refused)
        return error_response(error.status, error.code, error.message)

    async def client_gone(_request: Request, _error: Exception) -> Response:
        return client_gone_response()

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(ClientDisconnect, client_gone)
    app.add_exception_handler(StorageError, storage_error)
    app.add_exception_handler(Refused, refused)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
