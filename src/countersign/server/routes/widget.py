"""The widget API (browser → server), SPEC section 3."""

from __future__ import annotations

from typing import Any

import msgspec
from fastapi import APIRouter, Request
from starlette.responses import Response

from ...storage import identities
from ...storage.models import utcnow
from ..auth import SessionDep, bearer_token
from ..body import read_model
from ..client_ip import client_ip
from ..errors import ApiError, documented_errors
from ..identify import (
    IdentifyBody,
    RequestContext,
    check_origin,
    decide,
    metadata_for,
    new_session,
    pending_entry,
    response_document,
)
from ..state import StateDep

router = APIRouter(prefix="/v1/widget", tags=["widget"])

_IDENTIFY_BODY_SCHEMA = msgspec.json.schema(IdentifyBody)


def _json(document: Any, status: int = 200) -> Response:
    return Response(msgspec.json.encode(document), status, media_type="application/json")


@router.post(
    "/identify",
    summary="Identify the browser: verify the claimed identity and open a session",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _IDENTIFY_BODY_SCHEMA}},
        }
    },
    responses=documented_errors(
        {
            401: "identity_verification_failed",
            403: "origin_not_allowed",
            404: "app_not_found",
            413: "payload_too_large",
            415: "unsupported_media_type",
            422: "invalid_request, invalid_identifier or invalid_metadata",
            429: "rate_limited, with Retry-After",
        }
    ),
)
async def identify(request: Request, state: StateDep) -> Response:
    # A plain Request instead of a pydantic body model: this is the hot path, and a
    # strict msgspec decode costs a fraction of FastAPI's validation (benchmarks/).
    body = await read_model(request, IdentifyBody, state.settings.max_body_bytes)
    config = await state.directory.get(body.app_id)
    if config is None:
        raise ApiError(404, "app_not_found", "no app with this app_id")
    origin = request.headers.get("origin")
    check_origin(config, origin)
    context = RequestContext(
        origin, client_ip(request, state.settings.trusted_proxies), state.settings.session_ttl
    )
    raw_claim = body.user_id if config.record.identifier == "user_id" else body.email
    claimed = None if raw_claim is None else str(raw_claim)
    wait = state.limits.retry_after(config.record.id, context.client_ip, claimed)
    if wait is not None:
        raise ApiError(
            429,
            "rate_limited",
            "too many failed identify attempts; try again later",
            headers={"Retry-After": str(wait)},
        )
    now = utcnow()
    decision = decide(config, body, now)
    metadata, warnings = metadata_for(config, body, decision)
    state.recorder.record(pending_entry(config, body, decision, context))
    if decision.needs_diagnosis or decision.failure_code:
        state.limits.fail(config.record.id, context.client_ip, claimed)
    if decision.outcome == "refused":
        raise ApiError(
            401,
            "identity_verification_failed",
            "the identity could not be verified; the app's operators can see why in "
            "the verification log",
        )
    token, session = new_session(decision, context, now)
    identified = await state.backend.database.run(
        lambda c: identities.identify(
            c,
            app_id=config.record.id,
            visitor_id=body.visitor_id,
            claim=decision.claim,
            metadata=metadata,
            session=session,
            now=now,
        )
    )
    if decision.secret_id is not None:
        state.recorder.secret_used(decision.secret_id, now)
    return _json(response_document(token, session.expires_at, identified, decision, warnings))


@router.post("/logout", summary="End this session; the widget starts a new anonymous visitor")
async def logout(request: Request, session: SessionDep, state: StateDep) -> Response:
    token = bearer_token(request)
    assert token is not None  # SessionDep checked it
    await state.backend.database.run(lambda c: identities.revoke_session(c, session.id, utcnow()))
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
