"""Custom actions, called by the widget (a session) or the customer's backend (an API
key). The request the customer's API receives carries a user only when Countersign
verified it (see ``countersign.actions.payload``); the caller gets the API's answer,
or an error that says what failed and never what the API said beyond its status.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec
from fastapi import APIRouter, Request
from starlette.responses import Response

from ...actions import ActionTarget, Caller, CallResult, VerifiedUser, invoke
from ...actions.invoke import new_call_id
from ...storage import actions
from ...storage.actions import CallRecord, InvalidAction
from ...storage.contacts import ContactView, contact_by_id, verified_user
from ..auth import ApiAppDep, SessionDep
from ..body import read_model
from ..client_ip import client_ip
from ..errors import ApiError, documented_errors
from ..identifier_field import IdentifierText, identifier_field
from ..openapi import json_body
from ..state import ServerState, StateDep
from .conversations import json_response

router = APIRouter()

_ERRORS: Final = {
    404: "action_not_found",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request, invalid_parameters or invalid_identifier",
    502: "action_failed (the endpoint answered non-2xx), action_refused (SSRF guard), "
    "action_unreachable, action_response_too_large or action_misconfigured",
    504: "action_timeout",
}

# What the caller is told for each failed outcome: a code, a status, a sentence.
_FAILURES: Final[dict[str, tuple[int, str, str]]] = {
    "http_error": (502, "action_failed", "the action's endpoint answered {status}"),
    "timeout": (504, "action_timeout", "the action's endpoint did not answer in time"),
    "refused": (
        502,
        "action_refused",
        "Countersign refused to call the action's URL: it is not a public address",
    ),
    "unreachable": (502, "action_unreachable", "the action's endpoint could not be reached"),
    "response_too_large": (
        502,
        "action_response_too_large",
        "the action's endpoint answered more than Countersign reads",
    ),
    "misconfigured": (
        502,
        "action_misconfigured",
        "the action's parameters schema cannot be applied",
    ),
}


class WidgetActionCall(msgspec.Struct, forbid_unknown_fields=True):
    parameters: dict[str, Any] = msgspec.field(default_factory=dict)


class ServerActionCall(msgspec.Struct, forbid_unknown_fields=True):
    user_id: IdentifierText | int | None = None
    parameters: dict[str, Any] = msgspec.field(default_factory=dict)


def _not_found() -> ApiError:
    return ApiError(404, "action_not_found", "this app has no enabled action of that name")


def _answer(result: CallResult) -> Response:
    if result.ok:
        return json_response(
            {"call_id": result.call_id, "status": result.status_code, "data": result.data}
        )
    problem = result.parameter_error
    if problem is not None:
        raise ApiError(422, "invalid_parameters", f"{problem.path}: {problem.message}"[:500])
    status, code, message = _FAILURES.get(result.outcome, _FAILURES["http_error"])
    text = message.format(status=result.status_code)
    raise ApiError(status, code, f"{text} (call {result.call_id}; see the action log)")


async def _call(
    state: ServerState,
    app_id: str,
    name: str,
    parameters: dict[str, Any],
    caller: Caller,
    source: str,
) -> Response:
    try:
        name = actions.validate_name(name)
    except InvalidAction:
        raise _not_found() from None
    box = state.backend.box
    found = await state.backend.database.run(
        lambda c: actions.callable_action(c, box, app_id, name)
    )
    if found is None:
        missing = CallResult(new_call_id(), "not_found")
        await _log(state, app_id, None, name, missing, caller, source)
        raise _not_found()
    record, secret = found
    target = ActionTarget(
        name=record.name,
        method=record.method,
        url=record.url,
        parameters_schema=record.parameters_schema,
        signing_secret=secret.reveal().decode("utf-8"),
        allow_private_network=record.allow_private_network,
        timeout_seconds=record.timeout_seconds,
    )
    result = await invoke(state.outbound, target, parameters, caller)
    await _log(state, app_id, record.id, name, result, caller, source)
    return _answer(result)


async def _log(
    state: ServerState,
    app_id: str,
    action_id: str | None,
    name: str,
    result: CallResult,
    caller: Caller,
    source: str,
) -> None:
    entry = CallRecord(
        app_id=app_id,
        action_id=action_id,
        action_name=name,
        call_id=result.call_id,
        source=source,
        contact_id=caller.contact_id,
        identity_status=caller.status,
        outcome=result.outcome,
        status_code=result.status_code,
        duration_ms=result.duration_ms,
        error=result.error,
    )
    await state.backend.database.run(lambda c: actions.record_call(c, entry))


def _user(identity: ContactView) -> VerifiedUser:
    return VerifiedUser(
        user_id=identity.user_id,
        email=identity.email,
        name=identity.name,
        attributes=identity.attributes,
    )


@router.post(
    "/v1/widget/actions/{name}",
    tags=["widget"],
    summary="Call a custom action; the user is sent only when the session is verified",
    openapi_extra=json_body(WidgetActionCall),
    responses=documented_errors(
        {401: "invalid_session", 429: "rate_limited, with Retry-After", **_ERRORS}
    ),
)
async def call_from_widget(
    name: str, request: Request, session: SessionDep, state: StateDep
) -> Response:
    payload = await read_model(request, WidgetActionCall, state.settings.max_body_bytes)
    ip = client_ip(request, state.settings.trusted_proxies)
    # Per browser, not per token: identifying again gives a new token, not a new budget.
    wait = await state.action_limits.take(session.app_id, session.visitor_id, ip)
    if wait is not None:
        raise ApiError(
            429,
            "rate_limited",
            f"too many action calls; retry in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    user: VerifiedUser | None = None
    if session.verified:
        identity = await state.backend.database.run(lambda c: contact_by_id(c, session.contact_id))
        # Both must hold: a verified session always has a verified contact, and an
        # unverified contact's user id is a claim, whatever the session says.
        if identity is not None and identity.verified:
            user = _user(identity)
    caller = Caller.for_session(session.status, session.contact_id, user)
    return await _call(state, session.app_id, name, payload.parameters, caller, "widget")


@router.post(
    "/v1/actions/{name}",
    tags=["server"],
    summary="Call a custom action for a user the backend names (trusted), or for none",
    openapi_extra=json_body(ServerActionCall),
    responses=documented_errors({401: "invalid_api_key", **_ERRORS}),
)
async def call_from_server(
    name: str, request: Request, app_id: ApiAppDep, state: StateDep
) -> Response:
    payload = await read_model(request, ServerActionCall, state.settings.max_body_bytes)
    if payload.user_id is None:
        caller = Caller.for_server(None, None)
    else:
        user_id = identifier_field(payload.user_id, "user_id")
        identity = await state.backend.database.run(lambda c: verified_user(c, app_id, user_id))
        if identity is None:
            caller = Caller.for_server(None, VerifiedUser(user_id=user_id))
        else:
            caller = Caller.for_server(identity.id, _user(identity))
    return await _call(state, app_id, name, payload.parameters, caller, "server")
