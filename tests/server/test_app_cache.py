"""A policy or secret change made by another process reaches a running server.

The change goes through a second, independent backend on the same database (as the
``countersign`` CLI or another node would make it); the server under test is not told,
and must notice within its one-second version poll.
"""

from __future__ import annotations

from countersign import sign
from countersign.context import Backend, open_backend
from countersign.storage import apps

from .conftest import Harness, wait_for


def _other_process(harness: Harness) -> Backend:
    return open_backend(harness.settings)


def _served_ring(harness: Harness) -> list[str]:
    directory = harness.client.app.state.countersign.directory  # type: ignore[attr-defined]
    config = harness.client.portal.call(directory.get, harness.app_id)  # type: ignore[union-attr]
    return [key.id for key in config.ring]


def _served_mode(harness: Harness) -> str:
    """The identity mode the running server currently applies to the app."""
    directory = harness.client.app.state.countersign.directory  # type: ignore[attr-defined]
    config = harness.client.portal.call(directory.get, harness.app_id)  # type: ignore[union-attr]
    return str(config.record.identity_mode)


def test_policy_change_elsewhere_is_in_force_within_seconds(harness: Harness) -> None:
    assert harness.identify(user_id="u1").status_code == 401  # required by default
    other = _other_process(harness)
    try:
        other.database.run_sync(
            lambda c: apps.update_policy(c, harness.app_id, identity_mode="report")
        )
    finally:
        other.close()
    # Polled through the server's own cache: polling with failing identifies would
    # (rightly) trip the failure rate limit.
    wait_for(lambda: _served_mode(harness) == "report", timeout=5)
    assert harness.identify(user_id="u1").status_code == 200


def test_secret_revoked_elsewhere_stops_verifying(harness: Harness) -> None:
    old_hash = sign(harness.secret, "u1")
    session = harness.verified("u1")["session_token"]
    other = _other_process(harness)
    try:
        new_id, new_secret = other.database.run_sync(
            lambda c: apps.create_secret(c, other.box, harness.app_id)
        )
        other.database.run_sync(lambda c: apps.revoke_secret(c, harness.app_id, harness.secret_id))
    finally:
        other.close()
    wait_for(lambda: _served_ring(harness) == [new_id], timeout=5)
    assert harness.identify(user_id="u1", user_hash=old_hash).status_code == 401
    # The session the revoked secret verified is gone too.
    me = harness.client.get("/v1/widget/session", headers=harness.session_headers(session))
    assert me.status_code == 401
    fresh = harness.identify(user_id="u1", user_hash=sign(new_secret, "u1"))
    assert fresh.json()["identity"]["status"] == "verified"
    # Counted for the new secret (successes are counts per secret, SPEC 9).
    assert new_id in {row["secret_id"] for row in harness.successes()}
    refused = [entry for entry in harness.log() if entry["outcome"] == "refused"]
    assert refused[0]["code"] == "revoked_secret"
