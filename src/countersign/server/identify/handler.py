"""The identify request, handled: policy, limits, the grouped write, the session.

Called by the fast path (``server/ahead.py``) for every identify that reaches the app,
and by the documented route in ``routes/widget.py`` for any that reach the router.
"""

from __future__ import annotations

from datetime import datetime

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from ...storage import identities
from ...vocabulary.clock import utcnow
from ..body import read_model
from ..client_ip import client_ip
from ..errors import ApiError
from ..limit_counts import Taken
from ..ratelimit import per_address
from ..request_context import note_app
from .policy import (
    Decision,
    IdentifyBody,
    RequestContext,
    check_origin,
    decide,
    failed,
    metadata_for,
    pending_entry,
    rate_limited,
    response_document,
    session_expiry,
    signed_identifier,
)
from .services import IdentifyServices
from .triggers import contact_identified


async def identify(request: Request) -> Response:
    state: IdentifyServices = request.app.state.countersign
    # A plain Request instead of a pydantic body model: this is the hot path, and a
    # strict msgspec decode costs a fraction of FastAPI's validation (benchmarks/).
    body = await read_model(request, IdentifyBody, state.settings.max_body_bytes)
    config = await state.directory.get(body.app_id)
    if config is None:
        raise ApiError(404, "app_not_found", "no app with this app_id")
    note_app(config.record.id)
    origin = request.headers.get("origin")
    check_origin(config, origin)
    context = RequestContext(
        origin, client_ip(request, state.settings.trusted_proxies), state.settings.session_ttl
    )
    raw_claim, _ = signed_identifier(config, body.user_id, body.email)
    claimed = None if raw_claim is None else str(raw_claim)
    now = utcnow()
    decision = decide(config, body, now)
    if decision.failure_code == "token_unknown_kid" and config.jwks_sources:
        # Perhaps a key the customer just published: fetch its JWKS (paced) and retry.
        database = state.backend.database
        if await state.jwks.refresh(config, database, state.outbound, state.directory):
            config = await state.directory.get(body.app_id) or config
            decision = decide(config, body, now)
    metadata, warnings = metadata_for(config, body, decision)
    wait = None
    if failed(decision):  # checked and counted in one step
        wait = await state.limits.take_failure(config.record.id, context.client_ip, claimed)
        if (limited := rate_limited(decision, wait)) is not None:
            raise limited
    verified = decision.outcome == "verified"
    # A blocked failure is answered without another log entry; a success is counted
    # once its contact is known, below.
    if wait is None and not verified:
        state.recorder.record(pending_entry(config, body, decision, context))
    if decision.outcome == "refused" and decision.refusal == "identity_required":
        raise ApiError(
            401, "identity_required", "this app accepts only verified users: identify one"
        )
    if decision.outcome == "refused":
        raise ApiError(
            401,
            "identity_verification_failed",
            "the identity could not be verified; the app's operators can see why in "
            "the verification log",
        )
    reserved, may_create_visitor = await _reserve_new_visitor(state, body, decision, context)
    try:
        identified = await state.backend.database.run_grouped(
            lambda c: contact_identified(  # webhooks: a set lookup unless the app listens
                c,
                config.webhook_events,
                config.record.id,
                decision.claim.status,
                decision.method,
                identities.identify(
                    c,
                    app_id=config.record.id,
                    visitor_id=body.visitor_id,
                    claim=decision.claim,
                    metadata=metadata,
                    secret_id=decision.secret_id,
                    now=now,
                    held_epoch=_held_epoch(state, request, body.visitor_id),
                    may_create_visitor=may_create_visitor,
                ),
                now,
            )
        )
    except identities.NewVisitorRefused:
        raise await _too_many_visitors(state, _visitor_key(body, context)) from None
    if reserved is not None and identified.visitor_id == body.visitor_id:
        await state.limits.give_back(reserved)  # a returning browser: not new
    if identified.ended is not None:
        # That browser's previous identity ends here: its streams go quiet before we
        # answer, on this node, and close on the others as soon as they hear.
        await state.broker.end_sessions([identified.ended])
    expires_at = session_expiry(decision, context, now)
    token, _ = state.session_tokens.issue(
        identified.visitor_id, identified.session_epoch, expires_at, decision.secret_id
    )
    _count_success(state, config.record.id, decision, identified.contact.id, now)
    document = response_document(token, expires_at, identified, decision, warnings)
    return Response(msgspec.json.encode(document), media_type="application/json")


def _count_success(
    state: IdentifyServices, app_id: str, decision: Decision, contact_id: str, now: datetime
) -> None:
    """A success is counted per minute (SPEC 9), with the secret's (or public key's)
    use and the contact's last verified time; any other use of a secret, counted."""
    if decision.outcome == "verified":
        state.recorder.verified(app_id, decision.secret_id, decision.method, contact_id, now)
    elif decision.secret_id is not None:
        state.recorder.secret_used(decision.secret_id, now)


async def _reserve_new_visitor(
    state: IdentifyServices, body: IdentifyBody, decision: Decision, context: RequestContext
) -> tuple[Taken | None, bool]:
    """New unverified visitors are limited per address: one is counted before the write,
    so a burst in flight cannot all pass, and given back when the browser turns out to
    be returning. Over the limit, a browser that names its visitor is still answered if
    it is returning: the write then refuses to create one (NewVisitorRefused).

    Returns what was counted (to give back; None: nothing) and whether the write may
    create a visitor."""
    if decision.claim.status == "verified":
        return None, True
    key = _visitor_key(body, context)
    taken = await state.limits.take_new_visitor(key)
    if taken.wait is None:
        return taken, True
    if body.visitor_id is None:
        raise await _too_many_visitors(state, key, taken.wait)
    return None, False


def _visitor_key(body: IdentifyBody, context: RequestContext) -> str:
    return per_address(body.app_id, context.client_ip)


async def _too_many_visitors(
    state: IdentifyServices, key: str, wait: int | None = None
) -> ApiError:
    wait = wait or await state.limits.new_visitor_wait(key)
    return ApiError(
        429,
        "rate_limited",
        "too many new visitors from this address; try again later",
        headers={"Retry-After": str(wait)},
    )


def _held_epoch(state: IdentifyServices, request: Request, visitor_id: str | None) -> int | None:
    """The epoch of the session token this request holds for its own ``visitor_id``:
    proof that it comes from that browser (the widget sends its token when it
    identifies again), so a change of identity may retire that browser's visitor."""
    if visitor_id is None:
        return None
    header = request.headers.get("authorization")
    if header is None or header[:7].lower() != "bearer ":
        return None
    claims = state.session_tokens.open(header[7:].strip())
    if claims is None or claims.visitor_id != visitor_id:
        return None
    return claims.epoch
