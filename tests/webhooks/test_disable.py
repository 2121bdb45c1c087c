"""A disabled endpoint is sent nothing; what was queued for it waits, in order, and goes
out once it is enabled again. Events raised while it was disabled are not queued."""

from __future__ import annotations

import time

from countersign.storage import webhook_endpoints
from tests.webhooks.conftest import Hooked, run_db


def _switch(hooked: Hooked, enabled: bool) -> None:
    record = run_db(
        hooked.harness,
        lambda c: webhook_endpoints.set_endpoint_enabled(
            c, hooked.app_id, hooked.endpoint_id, enabled
        ),
    )
    assert record.enabled is enabled
    hooked.harness.client.app.state.countersign.directory.invalidate(hooked.app_id)  # type: ignore[attr-defined]


def _conversation(hooked: Hooked, headers: dict[str, str], body: str) -> str:
    response = hooked.harness.client.post(
        "/v1/widget/conversations", json={"body": body}, headers=headers
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_disabled_endpoints_wait_and_resume_in_order(hooked: Hooked) -> None:
    receiver = hooked.receiver
    headers = hooked.session("user-d")
    receiver.wait_for(lambda _: len(receiver.delivered()) >= 1)  # contact.identified
    receiver.status = 503  # what follows is queued and retried
    conversation_id = _conversation(hooked, headers, "first")
    receiver.wait_for(lambda got: len(got) >= 2)  # a refused attempt
    _switch(hooked, enabled=False)
    time.sleep(0.5)  # an attempt claimed just before disabling ends (refused)
    receiver.status = 200
    seen = len(receiver.snapshot())
    time.sleep(1.0)  # many poll rounds: nothing may be sent while disabled
    assert len(receiver.snapshot()) == seen
    assert len(receiver.delivered()) == 1

    # Raised while disabled: not queued for this endpoint at all.
    response = hooked.harness.client.post(
        f"/v1/widget/conversations/{conversation_id}/messages",
        json={"body": "while disabled"},
        headers=headers,
    )
    assert response.status_code == 201, response.text

    _switch(hooked, enabled=True)
    receiver.wait_for(lambda _: len(receiver.delivered()) >= 3)
    time.sleep(0.5)  # anything more would arrive now
    delivered = receiver.delivered()
    types = [item.headers["x-countersign-event-type"] for item in delivered]
    assert types == ["contact.identified", "conversation.created", "message.created"]
    assert delivered[2].json()["data"]["message"]["body"] == "first"


def test_unknown_endpoint_cannot_be_switched(hooked: Hooked) -> None:
    try:
        run_db(
            hooked.harness,
            lambda c: webhook_endpoints.set_endpoint_enabled(c, hooked.app_id, "whe_nope", False),
        )
    except webhook_endpoints.EndpointNotFound:
        return
    raise AssertionError("an unknown endpoint was switched")
