"""Every way an action call can fail answers a documented JSON error (never a 500),
tells the caller nothing of the endpoint beyond its status, and is logged."""

from __future__ import annotations

import socket
import time
from ipaddress import ip_address
from typing import Any

import pytest

from countersign.outbound import is_public_address
from countersign.server.action_limits import ActionLimits
from countersign.server.ratelimit import Limit
from countersign.storage import actions

from ..outbound.receiver import Receiver
from ..server.conftest import Harness
from .conftest import action_log, define, forbid_private_network


def _session(harness: Harness) -> str:
    return str(harness.verified("u-1")["session_token"])


def _post(harness: Harness, name: str, token: str | None, **kwargs: Any) -> Any:
    headers = kwargs.pop("headers", {})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    kwargs.setdefault("json", {"parameters": {}})
    return harness.client.post(f"/v1/widget/actions/{name}", headers=headers, **kwargs)


def _error(response: Any, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code, error
    return str(error["message"])


def test_private_address_refused_by_default(harness: Harness, receiver: Receiver) -> None:
    define(harness, "internal", receiver.url())
    forbid_private_network(harness, "internal")
    message = _error(_post(harness, "internal", _session(harness)), 502, "action_refused")
    assert "127.0.0.1" not in message  # the caller learns it was refused, not where to
    assert receiver.received == []
    [entry] = action_log(harness)
    assert entry["outcome"] == "refused"
    assert entry["error"].startswith("private_address")


def test_a_name_resolving_to_a_private_address_is_refused(
    harness: Harness, receiver: Receiver
) -> None:
    name = socket.gethostname()
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(name, None)}
    except OSError:
        pytest.skip(f"{name} does not resolve here")
    if any(is_public_address(ip_address(a)) for a in addresses):
        pytest.skip(f"{name} resolves to a public address here")
    define(harness, "byname", receiver.url(host=name), allow_private_network=False)
    _error(_post(harness, "byname", _session(harness)), 502, "action_refused")
    assert receiver.received == []
    assert action_log(harness)[0]["outcome"] == "refused"


def test_timeout(harness: Harness, receiver: Receiver) -> None:
    define(harness, "slow", receiver.url("/sleep/5"), timeout_seconds=1)
    started = time.monotonic()
    _error(_post(harness, "slow", _session(harness)), 504, "action_timeout")
    assert time.monotonic() - started < 4
    assert action_log(harness)[0]["outcome"] == "timeout"


def test_oversized_answer(harness: Harness, receiver: Receiver) -> None:
    define(harness, "big", receiver.url("/big/5000000"))
    _error(_post(harness, "big", _session(harness)), 502, "action_response_too_large")
    assert action_log(harness)[0]["outcome"] == "response_too_large"


def test_upstream_error_status_is_all_that_is_told(harness: Harness, receiver: Receiver) -> None:
    define(harness, "broken", receiver.url("/status/500"))
    response = _post(harness, "broken", _session(harness))
    message = _error(response, 502, "action_failed")
    assert "500" in message
    assert "hunter2" not in response.text
    [entry] = action_log(harness)
    assert (entry["outcome"], entry["status_code"]) == ("http_error", 500)
    assert "hunter2" not in str(entry)


def test_redirect_is_not_followed(harness: Harness, receiver: Receiver) -> None:
    define(harness, "moved", receiver.url("/redirect"))
    _error(_post(harness, "moved", _session(harness)), 502, "action_failed")
    assert [got.path for got in receiver.received] == ["/redirect"]


def test_unreachable(harness: Harness) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    define(harness, "gone", f"http://127.0.0.1:{port}/")
    _error(_post(harness, "gone", _session(harness)), 502, "action_unreachable")
    assert action_log(harness)[0]["outcome"] == "unreachable"


def test_non_json_answer_gives_null_data(harness: Harness, receiver: Receiver) -> None:
    define(harness, "text", receiver.url("/json/not%20json%20%5Cud800"), method="GET")
    response = _post(harness, "text", _session(harness))
    assert response.status_code == 200, response.text
    assert response.json()["data"] is None
    assert receiver.received[0].method == "GET"


SCHEMA = {
    "type": "object",
    "properties": {"order_id": {"type": "integer"}, "reason": {"type": "string", "maxLength": 10}},
    "required": ["order_id"],
    "additionalProperties": False,
}


@pytest.mark.parametrize(
    ("parameters", "where"),
    [
        ({}, "$"),
        ({"order_id": "12"}, "$.order_id"),
        ({"order_id": 1, "reason": "x" * 11}, "$.reason"),
        ({"order_id": 1, "extra": True}, "$"),
    ],
)
def test_invalid_parameters(
    harness: Harness, receiver: Receiver, parameters: dict[str, Any], where: str
) -> None:
    define(harness, "refund", receiver.url(), parameters_schema=SCHEMA)
    response = _post(harness, "refund", _session(harness), json={"parameters": parameters})
    message = _error(response, 422, "invalid_parameters")
    assert message.startswith(f"{where}: ")
    assert receiver.received == []
    assert action_log(harness)[0]["outcome"] == "invalid_parameters"


def test_valid_parameters_pass(harness: Harness, receiver: Receiver) -> None:
    define(harness, "refund", receiver.url(), parameters_schema=SCHEMA)
    response = _post(harness, "refund", _session(harness), json={"parameters": {"order_id": 7}})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "name", ["nope", "Refund", "a" * 65, "..etc", "-x", "a%20b", "%F0%9F%98%80", "%ED%A0%80"]
)
def test_unknown_action(harness: Harness, receiver: Receiver, name: str) -> None:
    define(harness, "refund", receiver.url())
    _error(_post(harness, name, _session(harness)), 404, "action_not_found")
    assert receiver.received == []


def test_a_removed_action_is_gone(harness: Harness, receiver: Receiver) -> None:
    from countersign.storage import actions

    define(harness, "refund", receiver.url())
    harness.backend.database.run_sync(lambda c: actions.remove_action(c, harness.app_id, "refund"))
    _error(_post(harness, "refund", _session(harness)), 404, "action_not_found")
    assert action_log(harness)[0]["outcome"] == "not_found"


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer cst_not-a-session", "Basic abc", "Bearer " + "x" * 300],
)
def test_no_session(harness: Harness, receiver: Receiver, authorization: str | None) -> None:
    define(harness, "refund", receiver.url())
    headers = {} if authorization is None else {"Authorization": authorization}
    _error(_post(harness, "refund", None, headers=headers), 401, "invalid_session")
    assert receiver.received == []


def test_logged_out_session(harness: Harness, receiver: Receiver) -> None:
    define(harness, "refund", receiver.url())
    token = _session(harness)
    assert (
        harness.client.post("/v1/widget/logout", headers=harness.session_headers(token)).status_code
        < 300
    )
    _error(_post(harness, "refund", token), 401, "invalid_session")


BAD_BODIES = {
    "parameters-list": ({"json": {"parameters": [1, 2]}}, 422, "invalid_request"),
    "parameters-string": ({"json": {"parameters": "x"}}, 422, "invalid_request"),
    "unknown-field": ({"json": {"parameters": {}, "user_id": "u-2"}}, 422, "invalid_request"),
    "body-array": ({"json": [1]}, 422, "invalid_request"),
    "not-json": (
        {"content": b"{nope", "headers": {"Content-Type": "application/json"}},
        400,
        "invalid_json",
    ),
    "not-utf8": (
        {
            "content": b'{"parameters": {"a": "\xff"}}',
            "headers": {"Content-Type": "application/json"},
        },
        400,
        "invalid_json",
    ),
    "lone-surrogate": (
        {
            "content": rb'{"parameters": {"a": "\ud800"}}',
            "headers": {"Content-Type": "application/json"},
        },
        400,
        "invalid_json",
    ),
    "nul": ({"json": {"parameters": {"a": "x\u0000y"}}}, 422, "invalid_request"),
    "duplicate-key": (
        {
            "content": b'{"parameters": {}, "parameters": {}}',
            "headers": {"Content-Type": "application/json"},
        },
        400,
        "invalid_json",
    ),
    "nan": (
        {"content": b'{"parameters": {"a": NaN}}', "headers": {"Content-Type": "application/json"}},
        400,
        "invalid_json",
    ),
    "huge": ({"json": {"parameters": {"a": "x" * 200_000}}}, 413, "payload_too_large"),
    "form": (
        {
            "content": b"parameters=1",
            "headers": {"Content-Type": "application/x-www-form-urlencoded"},
        },
        415,
        "unsupported_media_type",
    ),
    "deep": (
        {
            "content": b'{"parameters": ' + b'{"a": ' * 3000 + b"1" + b"}" * 3001,
            "headers": {"Content-Type": "application/json"},
        },
        400,
        "invalid_json",
    ),
}


@pytest.mark.parametrize(("request_args", "status", "code"), BAD_BODIES.values(), ids=BAD_BODIES)
def test_bad_bodies(
    harness: Harness, receiver: Receiver, request_args: dict[str, Any], status: int, code: str
) -> None:
    define(harness, "refund", receiver.url())
    token = _session(harness)
    request_args = dict(request_args)  # the parametrized dict is shared by both backends
    headers = {"Authorization": f"Bearer {token}", **request_args.pop("headers", {})}
    response = harness.client.post("/v1/widget/actions/refund", headers=headers, **request_args)
    _error(response, status, code)
    assert receiver.received == []


def test_rate_limited_per_session(harness: Harness, receiver: Receiver) -> None:
    state = harness.client.app.state.countersign  # type: ignore[attr-defined]
    state.action_limits = ActionLimits(per_session=Limit(failures=3, window_seconds=60))
    define(harness, "refund", receiver.url())
    token = _session(harness)
    for _ in range(3):
        assert _post(harness, "refund", token).status_code == 200
    response = _post(harness, "refund", token)
    _error(response, 429, "rate_limited")
    assert int(response.headers["retry-after"]) >= 1
    assert len(receiver.received) == 3
    other = str(harness.identify().json()["session_token"])
    assert _post(harness, "refund", other).status_code == 200  # another session is not held back


def test_server_api_bad_user_id(harness: Harness, receiver: Receiver) -> None:
    define(harness, "refund", receiver.url())
    for user_id in ("", 1.5, True, "a\u0000b", "x" * 300):
        response = harness.client.post(
            "/v1/actions/refund",
            json={"user_id": user_id, "parameters": {}},
            headers={"Authorization": f"Bearer {harness.api_key}"},
        )
        assert response.status_code == 422, (user_id, response.text)
    assert receiver.received == []


def test_a_new_token_of_the_same_browser_does_not_reset_the_limit(
    harness: Harness, receiver: Receiver
) -> None:
    state = harness.client.app.state.countersign  # type: ignore[attr-defined]
    state.action_limits = ActionLimits(per_session=Limit(failures=2, window_seconds=60))
    define(harness, "refund", receiver.url())
    first = harness.identify().json()
    for _ in range(2):
        assert _post(harness, "refund", first["session_token"]).status_code == 200
    again = harness.identify(visitor_id=first["visitor_id"]).json()
    assert again["visitor_id"] == first["visitor_id"]
    assert again["session_token"] != first["session_token"]
    _error(_post(harness, "refund", again["session_token"]), 429, "rate_limited")
    assert len(receiver.received) == 2


def test_a_disabled_action_answers_404_and_sends_nothing(
    harness: Harness, receiver: Receiver
) -> None:
    define(harness, "refund", receiver.url())
    token = _session(harness)

    def switch(enabled: bool) -> None:
        harness.backend.database.run_sync(
            lambda c: actions.set_action_enabled(c, harness.app_id, "refund", enabled)
        )

    switch(False)
    _error(_post(harness, "refund", token), 404, "action_not_found")
    assert receiver.received == []
    switch(True)
    assert _post(harness, "refund", token).status_code == 200
    assert len(receiver.received) == 1
