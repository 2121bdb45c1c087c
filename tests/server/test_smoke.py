"""The harness works end to end on both databases."""

from __future__ import annotations

from .conftest import Harness


def test_verified_identify_opens_a_session(harness: Harness) -> None:
    document = harness.verified("user-1")
    assert document["identity"] == {"status": "verified", "reason": None}
    me = harness.client.get(
        "/v1/widget/session", headers=harness.session_headers(document["session_token"])
    )
    assert me.json()["identity"]["status"] == "verified"
    assert harness.log()[0]["outcome"] == "verified"
