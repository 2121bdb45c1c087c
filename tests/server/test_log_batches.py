"""The recorder writes a large backlog in chunks, losing and duplicating nothing."""

from __future__ import annotations

import pytest

from countersign import sign
from countersign.server.identify import recorder

from .conftest import Harness


def test_a_backlog_larger_than_a_chunk_is_written_whole(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recorder, "FLUSH_CHUNK", 7)
    verified = [f"chunk-{n}" for n in range(40)]
    for user_id in verified:
        assert harness.verified(user_id)["identity"]["status"] == "verified"
    for n in range(5):  # failures, diagnosed in their chunk
        refused = harness.identify(user_id=f"bad-{n}", user_hash=sign(harness.secret + " ", "x"))
        assert refused.status_code == 401
    entries = harness.log(limit=500)
    # The successes are one count (one minute, unless the test straddles one), the
    # failures rows: none of either lost or written twice across the chunks.
    assert harness.verified_count() == len(verified)
    assert all(e["outcome"] != "verified" for e in entries)
    failed = [e for e in entries if e["outcome"] == "refused"]
    assert len(failed) == 5
    assert all(e["code"] not in ("", "none") for e in failed)
