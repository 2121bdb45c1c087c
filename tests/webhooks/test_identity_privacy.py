"""A user id reaches a webhook only when Countersign verified it (SPEC section 4).

Each scenario claims an identity the policy does not verify -- off mode, report mode,
required with the identity dropped (anonymous), required and refused -- and then
does everything a widget can (a conversation, messages, an event). The claimed user
id and email must appear nowhere in the raw bytes the receiver got, headers included.
A verified user's events, in the same run, carry the user id.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from countersign import sign
from countersign.storage import apps
from countersign.webhooks import verify
from tests.server.conftest import Harness
from tests.webhooks.conftest import FAST, add_endpoint, run_db
from tests.webhooks.receiver import Received, Receiver

CLAIMED_ID = "claimed-user-8675309"
CLAIMED_EMAIL = "claimed.person@example.org"
VERIFIED_ID = "verified-user-4242"

SCENARIOS = {
    # name: (identity_mode, on_mismatch, how the claim is presented, identify status)
    "off": ("off", "reject", "no_hash", 200),
    "off_jwt": ("off", "reject", "unsigned_jwt", 200),
    "report_wrong_hash": ("report", "reject", "wrong_hash", 200),
    "report_no_hash": ("report", "reject", "no_hash", 200),
    "required_anonymous": ("required", "anonymous", "wrong_hash", 200),
    "required_reject": ("required", "reject", "wrong_hash", 401),
}


def _claim(harness: Harness, how: str) -> dict[str, Any]:
    fields: dict[str, Any] = {"user_id": CLAIMED_ID, "email": CLAIMED_EMAIL}
    if how == "wrong_hash":
        fields["user_hash"] = sign(harness.secret, CLAIMED_ID + "x")
    elif how == "unsigned_jwt":
        import jwt

        token = jwt.encode(
            {"sub": CLAIMED_ID, "email": CLAIMED_EMAIL, "exp": int(time.time()) + 600},
            "not-the-apps-secret-but-long-enough-32b",
            algorithm="HS256",
        )
        fields = {"user_jwt": token}
    return fields


def _set_policy(harness: Harness, mode: str, on_mismatch: str) -> None:
    run_db(
        harness,
        lambda c: apps.update_policy(
            c, harness.app_id, identity_mode=mode, on_mismatch=on_mismatch
        ),
    )
    harness.client.app.state.countersign.directory.invalidate(harness.app_id)  # type: ignore[attr-defined]


def _use_the_widget(harness: Harness, token: str) -> None:
    headers = harness.session_headers(token)
    started = harness.client.post("/v1/widget/conversations", json={"body": "hi"}, headers=headers)
    assert started.status_code == 201, started.text
    conversation = started.json()["id"]
    sent = harness.client.post(
        f"/v1/widget/conversations/{conversation}/messages", json={"body": "help"}, headers=headers
    )
    assert sent.status_code == 201, sent.text
    tracked = harness.client.post(
        "/v1/widget/events", json={"name": "clicked", "properties": {"n": 1}}, headers=headers
    )
    assert tracked.status_code == 201, tracked.text


def _types(received: list[Received]) -> list[str]:
    return [item.headers["x-countersign-event-type"] for item in received]


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_an_unverified_claim_never_reaches_a_webhook(
    make_harness: Callable[..., Harness], receiver: Receiver, scenario: str
) -> None:
    mode, on_mismatch, how, status = SCENARIOS[scenario]
    harness = make_harness(**FAST)
    _, secret = add_endpoint(harness, receiver.url)
    _set_policy(harness, mode, on_mismatch)

    response = harness.identify(**_claim(harness, how), user_metadata={"plan": "pro"})
    assert response.status_code == status, response.text
    expected = 0
    if status == 200:
        document = response.json()
        _use_the_widget(harness, document["session_token"])
        expected = 4  # conversation.created, message.created x2, event.tracked ...
        if document["identity"]["status"] == "unverified":
            expected += 1  # ... and contact.identified
    failed = how == "wrong_hash" or (mode == "report" and how == "no_hash")
    expected += failed  # identity.failed

    # The verified user afterwards: the control that user ids do travel when proven.
    _set_policy(harness, "required", "reject")
    verified = harness.identify(
        user_id=VERIFIED_ID, user_hash=sign(harness.secret, VERIFIED_ID), email=CLAIMED_EMAIL
    )
    assert verified.status_code == 200, verified.text
    _use_the_widget(harness, verified.json()["session_token"])
    expected += 5  # contact.identified and the four above

    got = receiver.wait_for(lambda r: len(r) >= expected)
    time.sleep(0.5)  # anything else on its way arrives too
    got = receiver.snapshot()
    assert len(got) == expected, _types(got)
    if failed:
        assert "identity.failed" in _types(got)
    for item in got:
        assert verify(item.body, item.headers["x-countersign-signature"], secret)
        raw = item.body + repr(sorted(item.headers.items())).encode()
        for needle in (CLAIMED_ID, CLAIMED_EMAIL):
            assert needle.encode() not in raw, (item.headers, item.body)
            assert needle.lower().encode() not in raw.lower()

    mine = [item.json()["data"] for item in got if VERIFIED_ID.encode() in item.body]
    assert len(mine) == 5  # every event of the verified user carries its id
    for data in mine:
        assert data["contact"]["user_id"] == VERIFIED_ID
        assert data["contact"]["verified"] is True
        assert data["identity"]["status"] == "verified"
        assert data["contact"]["email"] is None  # claimed beside the hash, not proven
    others = [item.json()["data"] for item in got if VERIFIED_ID.encode() not in item.body]
    for data in others:
        if "contact" in data:
            assert data["contact"]["verified"] is False
            assert data["contact"]["user_id"] is None
            assert data["contact"]["email"] is None
        assert data["identity"]["status"] in ("unverified", "anonymous")
