"""The widget API (browser → server), SPEC section 3."""

from __future__ import annotations

from typing import Any

import msgspec
from fastapi import APIRouter
from starlette.responses import Response

from ...storage import identities
from ...vocabulary.clock import utcnow
from ..auth import SessionDep
from ..errors import documented_errors
from ..identify.handler import identify
from ..identify.policy import IdentifyBody
from ..openapi import json_body
from ..state import StateDep

router = APIRouter(prefix="/v1/widget", tags=["widget"])


def _json(document: Any, status: int = 200) -> Response:
    return Response(msgspec.json.encode(document), status, media_type="application/json")


# POSTs to exactly this path are answered ahead of the app by server/ahead.py; the
# route documents identify and serves any that reach the router (a mounted app).
router.add_api_route(
    "/identify",
    identify,
    methods=["POST"],
    summary="Identify the browser: verify the claimed identity and open a session",
    openapi_extra=json_body(IdentifyBody),
    responses=documented_errors(
        {
            401: "identity_verification_failed",
            403: "origin_not_allowed",
            404: "app_not_found",
            413: "payload_too_large",
            415: "unsupported_media_type",
            422: "invalid_request, invalid_identifier or invalid_metadata",
            429: "rate_limited (failed proofs, or new unverified visitors), with Retry-After",
        }
    ),
)


@router.post("/logout", summary="End this session; the widget starts a new anonymous visitor")
async def logout(session: SessionDep, state: StateDep) -> Response:
    now = utcnow()
    await state.backend.database.run(
        lambda c: identities.end_browser_session(c, session.visitor_id, session.epoch, now)
    )
    # An open stream of this browser must not deliver one more event, on any node.
    await state.broker.end_sessions([(session.visitor_id, session.epoch)])
    return _json({"logged_out": True})


@router.get("/session", summary="Who this session is")
async def current_session(session: SessionDep) -> Response:
    return _json(
        {
            "contact_id": session.contact_id,
            "visitor_id": session.visitor_id,
            "identity": {"status": session.status},
            "expires_at": session.expires_at.isoformat(),
        }
    )
