"""THE RULE, on the bytes the customer's API receives: a user id, email or attribute is
sent only for a verified session (or a user the server API names). Every other session
-- unverified in off or report mode, anonymous, or a failed claim dropped by
``on_mismatch=anonymous`` -- sends no user at all, whatever the browser claimed."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from countersign import KeyRing, RingKey, Secret, issue_identity_token, sign
from countersign.webhooks import verify

from ..outbound.receiver import Receiver
from ..server.conftest import Harness
from .conftest import action_log, define

CLAIMED_ID = "claimed-user-7731"
CLAIMED_EMAIL = "claimed.7731@example.org"


def _call(harness: Harness, token: str, parameters: dict[str, Any] | None = None) -> Any:
    return harness.client.post(
        "/v1/widget/actions/lookup",
        json={"parameters": parameters or {"order": 42}},
        headers=harness.session_headers(token),
    )


def test_verified_session_sends_the_user_signed(harness: Harness, receiver: Receiver) -> None:
    defined = define(harness, "lookup", receiver.url("/json/%7B%22refund%22:true%7D"))
    ring = KeyRing([RingKey(harness.secret_id, Secret(harness.secret))])
    token = issue_identity_token(
        ring,
        user_id="u-100",
        email="ada@example.com",
        claims={"name": "Ada", "plan": "pro", "aud": harness.app_id},
        expires_in=timedelta(minutes=10),
    )
    identified = harness.identify(user_jwt=token, user_metadata={"note": "unverified"})
    assert identified.status_code == 200, identified.text
    session = identified.json()

    response = _call(harness, session["session_token"])

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["status"] == 200
    assert answer["data"] == {"refund": True}
    [got] = receiver.received
    assert got.method == "POST"
    assert got.headers["content-type"] == "application/json"
    assert got.headers["user-agent"].startswith("Countersign/")
    verify(got.body, got.headers["x-countersign-signature"], defined.signing_secret)
    sent = json.loads(got.body)
    assert sent["action"] == "lookup"
    assert sent["call_id"] == answer["call_id"] == got.headers["x-countersign-call-id"]
    assert sent["call_id"].startswith("act_")
    assert sent["parameters"] == {"order": 42}
    assert sent["identity"] == {"status": "verified"}
    assert sent["user"] == {
        "user_id": "u-100",
        "email": "ada@example.com",
        "name": "Ada",
        "attributes": {"name": "Ada", "plan": "pro"},
    }
    assert sent["contact"] == {"id": session["contact"]["id"], "verified": True}
    assert b"unverified" not in got.body  # metadata is the browser's word: never sent
    [entry] = action_log(harness)
    assert (entry["outcome"], entry["identity_status"], entry["status_code"]) == (
        "ok",
        "verified",
        200,
    )


def test_a_tampered_body_does_not_verify(harness: Harness, receiver: Receiver) -> None:
    defined = define(harness, "lookup", receiver.url())
    token = harness.verified("u-1")["session_token"]
    assert _call(harness, token).status_code == 200
    got = receiver.received[0]
    with pytest.raises(Exception, match="no signature matches"):
        verify(
            got.body.replace(b"u-1", b"u-2"),
            got.headers["x-countersign-signature"],
            defined.signing_secret,
        )


def _claim(harness: Harness, user_hash: str | None) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "user_id": CLAIMED_ID,
        "email": CLAIMED_EMAIL,
        "user_metadata": {"email": CLAIMED_EMAIL, "id": CLAIMED_ID},
    }
    if user_hash is not None:
        fields["user_hash"] = user_hash
    response = harness.identify(**fields)
    assert response.status_code == 200, response.text
    return dict(response.json())


UNPROVEN = {
    # mode, on_mismatch, hash sent, the session's status
    "off-mode-claim": ("off", "reject", None, "unverified"),
    "report-mode-bad-hash": ("report", "reject", "0" * 64, "unverified"),
    "report-mode-no-hash": ("report", "reject", None, "unverified"),
    "required-anonymous-bad-hash": ("required", "anonymous", "f" * 64, "anonymous"),
    "required-anonymous-wrong-user": (
        "required",
        "anonymous",
        sign("x" * 40, CLAIMED_ID),
        "anonymous",
    ),
}


@pytest.mark.parametrize(
    ("mode", "on_mismatch", "user_hash", "status"), UNPROVEN.values(), ids=UNPROVEN
)
def test_unproven_claims_never_reach_the_bytes(
    harness: Harness,
    receiver: Receiver,
    mode: str,
    on_mismatch: str,
    user_hash: str | None,
    status: str,
) -> None:
    harness.set_policy(identity_mode=mode, on_mismatch=on_mismatch)
    define(harness, "lookup", receiver.url())
    session = _claim(harness, user_hash)
    assert session["identity"]["status"] == status

    assert _call(harness, session["session_token"]).status_code == 200

    [got] = receiver.received
    assert CLAIMED_ID.encode() not in got.body
    assert CLAIMED_EMAIL.encode() not in got.body
    assert b"7731" not in got.body  # no fragment of it either, in any field
    assert CLAIMED_ID not in json.dumps(got.headers)
    sent = json.loads(got.body)
    assert sent["user"] is None
    assert sent["identity"] == {"status": status}
    assert sent["contact"] == {"id": session["contact"]["id"], "verified": False}
    assert action_log(harness)[0]["identity_status"] == status


def test_anonymous_visitor_sends_no_user(harness: Harness, receiver: Receiver) -> None:
    define(harness, "lookup", receiver.url())
    session = harness.identify().json()
    assert session["identity"]["status"] == "anonymous"
    assert _call(harness, session["session_token"]).status_code == 200
    sent = json.loads(receiver.received[0].body)
    assert sent["user"] is None
    assert sent["identity"] == {"status": "anonymous"}


def _server_call(harness: Harness, body: dict[str, Any]) -> Any:
    return harness.client.post(
        "/v1/actions/lookup",
        json=body,
        headers={"Authorization": f"Bearer {harness.api_key}"},
    )


def test_server_api_names_a_user_it_trusts(harness: Harness, receiver: Receiver) -> None:
    defined = define(harness, "lookup", receiver.url())
    put = harness.client.put(
        "/v1/users/u-9",
        json={"email": "nine@example.com", "name": "Nine", "attributes": {"tier": "gold"}},
        headers={"Authorization": f"Bearer {harness.api_key}"},
    )
    assert put.status_code == 200, put.text

    response = _server_call(harness, {"user_id": "u-9", "parameters": {"order": 1}})

    assert response.status_code == 200, response.text
    got = receiver.received[0]
    verify(got.body, got.headers["x-countersign-signature"], defined.signing_secret)
    sent = json.loads(got.body)
    assert sent["identity"] == {"status": "verified"}
    assert sent["user"] == {
        "user_id": "u-9",
        "email": "nine@example.com",
        "name": "Nine",
        "attributes": {"tier": "gold"},
    }
    assert sent["contact"]["verified"] is True
    assert action_log(harness)[0]["source"] == "server"


def test_server_api_unknown_user_and_no_user(harness: Harness, receiver: Receiver) -> None:
    define(harness, "lookup", receiver.url())
    assert _server_call(harness, {"user_id": 77, "parameters": {}}).status_code == 200
    assert _server_call(harness, {"parameters": {}}).status_code == 200
    first, second = (json.loads(got.body) for got in receiver.received)
    assert first["user"] == {"user_id": "77", "email": None, "name": None, "attributes": {}}
    assert first["contact"] is None
    assert second["user"] is None
    assert second["identity"] == {"status": "anonymous"}


def test_server_api_needs_its_key(harness: Harness, receiver: Receiver) -> None:
    define(harness, "lookup", receiver.url())
    response = harness.client.post(
        "/v1/actions/lookup", json={}, headers={"Authorization": "Bearer nope"}
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"
    assert receiver.received == []
