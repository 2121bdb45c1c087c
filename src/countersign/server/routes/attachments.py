"""Uploads and downloads of attachments (SPEC 11): the widget's and the server API's.

An upload is streamed to a temporary file (``server/uploads.py``), judged and cleaned
by ``countersign.attachments`` and stored in chunks, or as a file in
``COUNTERSIGN_ATTACHMENTS_DIR`` (``storage/attachment_files.py``); a download streams
it back, to the contact's own sessions only (everyone else: 404, as if it did not exist).
"""

from __future__ import annotations

import functools
import time
from collections.abc import AsyncIterator
from typing import Any, BinaryIO, Final
from urllib.parse import quote

import anyio.to_thread
from fastapi import APIRouter, Query, Request
from sqlalchemy import Connection
from starlette.responses import Response, StreamingResponse

from ...attachments import types
from ...attachments.access import contact_may_see
from ...attachments.checks import Accepted, judge, read_chunks
from ...attachments.names import sanitise_name
from ...core.signed_links import KEY_PURPOSE as LINK_KEY_PURPOSE
from ...core.signed_links import link_valid
from ...storage import attachments
from ...storage.attachment_files import DirectoryFiles
from ...storage.database import Database
from ...vocabulary.clock import utcnow
from ..auth import ApiAppDep, SessionDep
from ..client_ip import client_ip
from ..errors import ApiError, documented_errors
from ..path_convertors import ANY_TEXT
from ..ratelimit import per_address
from ..state import ServerState, StateDep
from ..uploads import receive_file
from .conversations import json_response

router = APIRouter(tags=["attachments"])

_UPLOAD_BODY: Final = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "additionalProperties": False,
                }
            }
        },
    }
}
_UPLOAD_ERRORS: Final = documented_errors(
    {
        413: "file_too_large: over the app's limit (max_attachment_bytes)",
        415: "file_type_not_allowed, unsupported_media_type: a type the app does not accept",
        422: "invalid_request, invalid_image, empty_file: no file field, two, a truncated "
        "body, an image that does not decode, a 0-byte file",
    }
)


async def store_upload(
    state: ServerState, request: Request, app_id: str, contact_id: str | None
) -> Response:
    database = state.backend.database
    limit, allowed = await database.run(lambda c: attachments.limits(c, app_id))
    async with receive_file(request, limit) as received:
        name = sanitise_name(received.name)
        accepted: Accepted = await anyio.to_thread.run_sync(
            judge, received.path, name, allowed, limit
        )
        try:
            if isinstance(database.files, DirectoryFiles):
                stored = await _store_in_directory(
                    database, database.files, app_id, contact_id, name, accepted
                )
            else:
                stored = await database.run(
                    lambda c: attachments.insert_attachment(
                        c,
                        app_id=app_id,
                        contact_id=contact_id,
                        name=name,
                        content_type=accepted.content_type,
                        chunks=read_chunks(accepted.path, attachments.CHUNK_BYTES),
                        now=utcnow(),
                    )
                )
        finally:
            if accepted.path != received.path:
                accepted.path.unlink(missing_ok=True)
    return json_response(stored, 201)


async def _store_in_directory(
    database: Database,
    files: DirectoryFiles,
    app_id: str,
    contact_id: str | None,
    name: str,
    accepted: Accepted,
) -> dict[str, Any]:
    """The file into the directory (in a thread: megabytes and an fsync), then its row
    in a short transaction; the file goes again if the row does not commit."""
    attachment_id = attachments.new_attachment_id()
    size = await anyio.to_thread.run_sync(
        files.write, attachment_id, read_chunks(accepted.path, attachments.CHUNK_BYTES)
    )
    try:
        return await database.run(
            lambda c: attachments.insert_row(
                c,
                attachment_id=attachment_id,
                app_id=app_id,
                contact_id=contact_id,
                name=name,
                content_type=accepted.content_type,
                size=size,
                now=utcnow(),
            )
        )
    except BaseException:
        await anyio.to_thread.run_sync(files.remove, [attachment_id])
        raise


@router.post(
    "/v1/widget/uploads",
    status_code=201,
    summary="Upload a file to attach to a message (multipart, one file field)",
    openapi_extra=_UPLOAD_BODY,
    responses={
        **_UPLOAD_ERRORS,
        **documented_errors({429: "rate_limited: too many uploads, with Retry-After"}),
    },
)
async def widget_upload(request: Request, session: SessionDep, state: StateDep) -> Response:
    # A verified user's devices share one allowance; anonymous browsers, one per address.
    key = (
        f"{session.app_id}\0{session.contact_id}"
        if session.verified
        else per_address(session.app_id, client_ip(request, state.settings.trusted_proxies))
    )
    if (wait := await state.limits.take_upload(key)) is not None:
        raise ApiError(
            429,
            "rate_limited",
            "too many uploads; try again later",
            headers={"Retry-After": str(wait)},
        )
    return await store_upload(state, request, session.app_id, session.contact_id)


@router.post(
    "/v1/uploads",
    status_code=201,
    summary="Upload a file for the team's messages (multipart, one file field)",
    openapi_extra=_UPLOAD_BODY,
    responses=_UPLOAD_ERRORS,
)
async def server_upload(request: Request, app_id: ApiAppDep, state: StateDep) -> Response:
    return await store_upload(state, request, app_id, None)


def serving_headers(row: Any) -> dict[str, str]:
    """Never rendered as a page: nosniff, no CSP permission at all, and a download
    prompt for everything but the image types (which only ever decode as images)."""
    inline = row.content_type in {types.MIME[kind] for kind in types.IMAGE_TYPES}
    quoted = row.name.replace("\\", "_").replace('"', "_")
    ascii_name = quoted.encode("ascii", "replace").decode("ascii").replace("?", "_")
    return {
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'",
        "Content-Disposition": f"{'inline' if inline else 'attachment'}; "
        f"filename=\"{ascii_name}\"; filename*=UTF-8''{quote(row.name)}",
        "Cache-Control": "private, max-age=3600",
        "Content-Length": str(row.size),
    }


def _chunk(attachment_id: str, position: int, connection: Connection) -> bytes | None:
    return attachments.chunk(connection, attachment_id, position)


async def serve(database: Database, row: Any) -> Response:
    """The file streamed a chunk at a time: from the attachments directory when it is
    there, else from the chunk table (where files stored before the directory was set
    stay)."""
    files = database.files
    opened = None
    if isinstance(files, DirectoryFiles):
        opened = await anyio.to_thread.run_sync(files.open, row.id)

    async def chunks() -> AsyncIterator[bytes]:
        for position in attachments.iter_positions(row.size):
            data = await database.read(functools.partial(_chunk, row.id, position))
            if data is None:
                return
            yield data

    async def from_file(file: BinaryIO) -> AsyncIterator[bytes]:
        try:
            while data := await anyio.to_thread.run_sync(file.read, attachments.CHUNK_BYTES):
                yield data
        finally:
            file.close()

    body = chunks() if opened is None else from_file(opened)
    return StreamingResponse(body, media_type=row.content_type, headers=serving_headers(row))


@router.get(
    f"/v1/widget/attachments/{{attachment_id:{ANY_TEXT}}}",
    summary="An attachment's bytes, to the contact's own sessions",
    responses={
        200: {"description": "the file", "content": {"application/octet-stream": {}}},
        **documented_errors({404: "not_found: no such attachment for this session"}),
    },
)
async def widget_attachment(attachment_id: str, session: SessionDep, state: StateDep) -> Response:
    database = state.backend.database

    def look(connection: Connection) -> Any | None:
        row = attachments.find(connection, session.app_id, attachment_id)
        if row is None:
            return None
        owner = (
            None
            if row.message_id is None
            else (attachments.message_contact(connection, row.message_id))
        )
        allowed = contact_may_see(
            uploader=row.contact_id, conversation_contact=owner, contact_id=session.contact_id
        )
        return row if allowed else None

    row = await database.read(look)
    if row is None:
        raise ApiError(404, "not_found", "no such attachment")
    return await serve(database, row)


@router.get(
    f"/links/attachments/{{attachment_id:{ANY_TEXT}}}",
    summary="An attachment's bytes by the signed, expiring link a webhook carried",
    responses={
        200: {"description": "the file", "content": {"application/octet-stream": {}}},
        **documented_errors({404: "not_found: no such attachment, or the link expired"}),
    },
)
async def linked_attachment(
    attachment_id: str,
    state: StateDep,
    expires: int = Query(..., ge=0, le=2**53),
    signature: str = Query(..., max_length=64, pattern="^[A-Za-z0-9_-]+$"),
) -> Response:
    key = state.backend.box.derive_key(LINK_KEY_PURPOSE)
    if not link_valid(key, attachment_id, expires, signature, time.time()):
        raise ApiError(404, "not_found", "no such attachment, or the link expired")
    database = state.backend.database
    row = await database.read(lambda c: attachments.find_any(c, attachment_id))
    if row is None:
        raise ApiError(404, "not_found", "no such attachment, or the link expired")
    return await serve(database, row)
