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
    # A success is counted for its minute and secret, not logged as a row (SPEC 9).
    assert harness.log() == []
    [count] = harness.successes()
    assert (count["secret_id"], count["count"]) == (harness.secret_id, 1)
    assert harness.last_verified_at(document["contact"]["id"]) is not None
