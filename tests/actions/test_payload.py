"""The request body builder applies the rule even when handed a user it must not send."""

from __future__ import annotations

import json

import pytest

from countersign.actions import Caller, VerifiedUser, request_body

USER = VerifiedUser(user_id="u-1", email="a@example.com", name="A", attributes={"plan": "pro"})


@pytest.mark.parametrize("status", ["unverified", "anonymous"])
def test_an_unverified_session_drops_any_user_it_is_given(status: str) -> None:
    caller = Caller.for_session(status, "con_1", USER)  # type: ignore[arg-type]
    body = request_body("lookup", "act_1", {}, caller)
    assert b"u-1" not in body
    assert b"a@example.com" not in body
    document = json.loads(body)
    assert document["user"] is None
    assert document["contact"] == {"id": "con_1", "verified": False}
    assert document["identity"] == {"status": status}


def test_a_verified_session_sends_its_user() -> None:
    document = json.loads(
        request_body("lookup", "act_1", {"x": 1}, Caller.for_session("verified", "con_1", USER))
    )
    assert document == {
        "action": "lookup",
        "call_id": "act_1",
        "parameters": {"x": 1},
        "identity": {"status": "verified"},
        "user": {
            "user_id": "u-1",
            "email": "a@example.com",
            "name": "A",
            "attributes": {"plan": "pro"},
        },
        "contact": {"id": "con_1", "verified": True},
    }


def test_a_verified_session_without_a_verified_contact_sends_no_user() -> None:
    caller = Caller.for_session("verified", "con_1", None)
    assert json.loads(request_body("a", "act_1", {}, caller))["user"] is None
