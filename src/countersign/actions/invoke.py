"""Calling an action: check the parameters, sign the request, send it through the
outbound client (SSRF guard, deadline, size cap), and classify what happened.

Every path ends in a :class:`CallResult` whose ``outcome`` is what the action log
records; nothing here raises for a failure of the customer's endpoint.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Final, Literal, get_args

import msgspec

from ..outbound import OutboundClient, OutboundError, OutboundPolicy
from ..vocabulary.action_schema import InvalidSchema, ParameterError, first_parameter_error
from ..vocabulary.ids import new_id
from ..vocabulary.webhook_signature import SIGNATURE_HEADER, sign
from .payload import Caller, request_body

#: The most of an answer that is read; more is a ``response_too_large`` failure.
MAX_RESPONSE_BYTES: Final = 65_536
CALL_ID_HEADER: Final = "X-Countersign-Call-Id"
ACTION_HEADER: Final = "X-Countersign-Action"

Outcome = Literal[
    "ok",
    "http_error",
    "timeout",
    "refused",
    "unreachable",
    "response_too_large",
    "invalid_parameters",
    "misconfigured",
    "not_found",  # no enabled action of that name (logged: a widget may call a stale name)
]
OUTCOMES: Final[tuple[Outcome, ...]] = get_args(Outcome)

_OUTBOUND_OUTCOMES: Final[dict[str, Outcome]] = {
    "invalid_url": "refused",
    "private_address": "refused",
    "timeout": "timeout",
    "dns_failed": "unreachable",
    "connect_failed": "unreachable",
    "request_failed": "unreachable",
}


@dataclass(frozen=True, slots=True)
class ActionTarget:
    """Where and how an action is sent (from its definition)."""

    name: str
    method: str
    url: str
    parameters_schema: dict[str, Any]
    signing_secret: str
    allow_private_network: bool
    timeout_seconds: float


@dataclass(frozen=True, slots=True)
class CallResult:
    call_id: str
    outcome: Outcome
    status_code: int | None = None  # the endpoint's HTTP status, when it answered
    data: Any = None  # the endpoint's JSON answer (ok only), None when not JSON
    duration_ms: int = 0
    error: str | None = None  # for the operators' log: never a body or a header
    parameter_error: ParameterError | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


def _json_or_none(body: bytes) -> Any:
    """The answer as JSON when it is strict JSON that re-encodes (no lone surrogates,
    no NaN, not absurdly nested), else ``None``: the widget gets data or nothing."""
    if not body.strip():
        return None
    try:
        value = msgspec.json.decode(body)
        msgspec.json.encode(value)
    except (msgspec.DecodeError, msgspec.EncodeError, ValueError, RecursionError):
        return None
    return value


def new_call_id() -> str:
    return new_id("act", 16)


async def invoke(
    client: OutboundClient, target: ActionTarget, parameters: Any, caller: Caller
) -> CallResult:
    """Call ``target`` with ``parameters`` for ``caller``; see the module docstring."""
    call_id = new_call_id()
    try:
        problem = first_parameter_error(target.parameters_schema, parameters)
    except InvalidSchema as error:
        return CallResult(call_id, "misconfigured", error=str(error)[:255])
    if problem is not None:
        # The path and the failed keyword only: the message may quote the value sent.
        return CallResult(
            call_id,
            "invalid_parameters",
            error=f"{problem.path}: {problem.keyword}"[:255],
            parameter_error=problem,
        )
    body = request_body(target.name, call_id, parameters, caller)
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(body, target.signing_secret),
        CALL_ID_HEADER: call_id,
        ACTION_HEADER: target.name,
    }
    policy = OutboundPolicy(
        allow_private_network=target.allow_private_network,
        timeout_seconds=target.timeout_seconds,
        max_response_bytes=MAX_RESPONSE_BYTES,
    )
    started = time.perf_counter()
    try:
        response = await client.request(
            target.method, target.url, body=body, headers=headers, policy=policy
        )
    except OutboundError as error:
        return CallResult(
            call_id,
            _OUTBOUND_OUTCOMES.get(error.code, "unreachable"),
            duration_ms=round((time.perf_counter() - started) * 1000),
            error=f"{error.code}: {error.message}"[:255],
        )
    duration = round(response.elapsed_ms)
    if not response.ok:
        return CallResult(
            call_id,
            "http_error",
            status_code=response.status,
            duration_ms=duration,
            error=f"the endpoint answered {response.status}",
        )
    if response.truncated:
        return CallResult(
            call_id,
            "response_too_large",
            status_code=response.status,
            duration_ms=duration,
            error=f"the answer is over {MAX_RESPONSE_BYTES} bytes",
        )
    return CallResult(
        call_id,
        "ok",
        status_code=response.status,
        data=_json_or_none(response.body),
        duration_ms=duration,
    )
