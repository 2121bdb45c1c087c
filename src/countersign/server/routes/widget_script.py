"""GET /widget.js: the embeddable script (SPEC section 6), shipped inside the package.

Pages load it on every view, so it is cached: a short ``max-age`` lets a server
upgrade reach browsers within minutes, and the ETag makes the revalidation after that
a bodiless 304.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
from dataclasses import dataclass
from importlib import resources

from fastapi import APIRouter, Request
from starlette.responses import Response

router = APIRouter(tags=["widget"])

CACHE_CONTROL = "public, max-age=300"


@dataclass(frozen=True, slots=True)
class Script:
    body: bytes
    gzipped: bytes  # about a third of the size, for the browsers that accept it
    etag: str


@functools.cache
def widget_script() -> Script:
    """The script, compressed once, and its ETag, read from the package once per process."""
    body = resources.files("countersign").joinpath("static/widget.js").read_bytes()
    gzipped = gzip.compress(body, compresslevel=9, mtime=0)
    return Script(body, gzipped, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')


def _accepts_gzip(accept_encoding: str) -> bool:
    for part in accept_encoding.lower().split(","):
        name, _, params = part.partition(";")
        if name.strip() == "gzip":
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def _matches(if_none_match: str, etag: str) -> bool:
    # A weak comparison, as RFC 9110 asks of If-None-Match: W/"x" matches "x".
    candidates = (tag.strip().removeprefix("W/") for tag in if_none_match.split(","))
    return any(tag in ("*", etag) for tag in candidates)


@router.head("/widget.js", include_in_schema=False)
@router.get(
    "/widget.js",
    summary="The embeddable widget script",
    response_class=Response,
    responses={
        200: {"content": {"application/javascript": {}}},
        304: {"description": "Not modified: the ETag in If-None-Match is current"},
    },
)
async def widget_js(request: Request) -> Response:
    script = widget_script()
    headers = {
        "ETag": script.etag,
        "Cache-Control": CACHE_CONTROL,
        # Lets pages load it with crossorigin="anonymous" and Subresource Integrity.
        "Access-Control-Allow-Origin": "*",
        "X-Content-Type-Options": "nosniff",
        "Vary": "Accept-Encoding",
    }
    if _matches(request.headers.get("if-none-match", ""), script.etag):
        return Response(status_code=304, headers=headers)
    body = script.body
    if _accepts_gzip(request.headers.get("accept-encoding", "")):
        body = script.gzipped
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type="application/javascript; charset=utf-8", headers=headers)
