"""The verification log's batch writes and reads, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from countersign.storage import apps, verification_log
from countersign.storage.database import Database
from countersign.storage.encryption import SecretBox

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def entry(app_id: str, minutes: int, outcome: str = "verified", **extra: Any) -> dict[str, Any]:
    return {
        "app_id": app_id,
        "at": T0 + timedelta(minutes=minutes),
        "outcome": outcome,
        "method": "hash",
        "code": "ok" if outcome == "verified" else "secret_whitespace",
        **extra,
    }


def test_recent_entries_newest_first_with_iso_times(database: Database, app_id: str) -> None:
    entries = [entry(app_id, 1), entry(app_id, 3, "refused", hint="strip it"), entry(app_id, 2)]
    database.run_sync(lambda c: verification_log.insert_entries(c, entries))

    recent = database.run_sync(lambda c: verification_log.recent_entries(c, app_id))

    assert [row["at"] for row in recent] == [
        (T0 + timedelta(minutes=m)).isoformat() for m in (3, 2, 1)
    ]
    assert datetime.fromisoformat(recent[0]["at"]).tzinfo is not None
    assert recent[0]["outcome"] == "refused"
    assert recent[0]["hint"] == "strip it"
    assert recent[0]["app_id"] == app_id
    assert set(recent[0]) == {
        "id",
        "app_id",
        "at",
        "outcome",
        "method",
        "code",
        "hint",
        "identifier",
        "secret_id",
        "origin",
        "client_ip",
    }


def test_a_batch_sharing_one_time_reads_back_in_reverse_insertion_order(
    database: Database, app_id: str
) -> None:
    batch = [entry(app_id, 0, identifier=f"u{n}") for n in range(5)]
    database.run_sync(lambda c: verification_log.insert_entries(c, batch))
    recent = database.run_sync(lambda c: verification_log.recent_entries(c, app_id))
    assert [row["identifier"] for row in recent] == ["u4", "u3", "u2", "u1", "u0"]


def test_limit_and_outcome_filter(database: Database, app_id: str) -> None:
    outcomes = ["verified", "refused", "unverified", "refused", "anonymous", "verified"]
    batch = [entry(app_id, n, outcome) for n, outcome in enumerate(outcomes)]
    database.run_sync(lambda c: verification_log.insert_entries(c, batch))

    latest_two = database.run_sync(lambda c: verification_log.recent_entries(c, app_id, limit=2))
    assert [row["outcome"] for row in latest_two] == ["verified", "anonymous"]
    refused = database.run_sync(
        lambda c: verification_log.recent_entries(c, app_id, outcome="refused")
    )
    assert [row["at"] for row in refused] == [
        (T0 + timedelta(minutes=m)).isoformat() for m in (3, 1)
    ]


def test_entries_of_another_app_stay_apart(database: Database, app_id: str) -> None:
    box = SecretBox(os.urandom(32))
    other = database.run_sync(lambda c: apps.create_app(c, box, "Other")).app.id
    database.run_sync(
        lambda c: verification_log.insert_entries(c, [entry(app_id, 0), entry(other, 1)])
    )
    recent = database.run_sync(lambda c: verification_log.recent_entries(c, app_id))
    assert [row["app_id"] for row in recent] == [app_id]


def test_optional_fields_default_and_at_defaults_to_now(database: Database, app_id: str) -> None:
    minimal = {"app_id": app_id, "outcome": "anonymous", "method": "none", "code": "ok"}
    full = entry(app_id, 0, identifier="u1", origin="https://a.example", client_ip="10.0.0.1")
    before = datetime.now(UTC)
    # The full entry second: a batch takes its columns from every row, not the first.
    database.run_sync(lambda c: verification_log.insert_entries(c, [minimal, full]))
    newest, oldest = database.run_sync(lambda c: verification_log.recent_entries(c, app_id))
    assert datetime.fromisoformat(newest["at"]) >= before - timedelta(seconds=1)
    assert newest["hint"] == ""
    assert newest["identifier"] is newest["origin"] is newest["secret_id"] is None
    assert (oldest["identifier"], oldest["origin"], oldest["client_ip"]) == (
        "u1",
        "https://a.example",
        "10.0.0.1",
    )


def test_hostile_claims_do_not_fail_the_batch(database: Database, app_id: str) -> None:
    """A browser controls the identifier and Origin; PostgreSQL refuses NUL and overlong
    varchars, which would lose every other outcome of the batch."""
    hostile = entry(app_id, 1, "refused", identifier="a\x00b" + "x" * 400, origin="o" * 1000)
    database.run_sync(lambda c: verification_log.insert_entries(c, [entry(app_id, 0), hostile]))
    recent = database.run_sync(lambda c: verification_log.recent_entries(c, app_id))
    assert len(recent) == 2
    assert recent[0]["identifier"].startswith("a\ufffdb")
    assert len(recent[0]["identifier"]) == 255
    assert len(recent[0]["origin"]) == 255


def test_empty_batch_is_a_no_op(database: Database, app_id: str) -> None:
    database.run_sync(lambda c: verification_log.insert_entries(c, []))
    assert database.run_sync(lambda c: verification_log.recent_entries(c, app_id)) == []


def test_outcome_counts_since(database: Database, app_id: str) -> None:
    outcomes = ["refused", "verified", "verified", "refused", "verified"]
    batch = [entry(app_id, n, outcome) for n, outcome in enumerate(outcomes)]
    database.run_sync(lambda c: verification_log.insert_entries(c, batch))

    since_two = T0 + timedelta(minutes=2)
    counts = database.run_sync(lambda c: verification_log.outcome_counts(c, app_id, since_two))
    assert counts == {"verified": 2, "unverified": 0, "refused": 1, "anonymous": 0}
    everything = database.run_sync(lambda c: verification_log.outcome_counts(c, app_id, T0))
    assert sum(everything.values()) == 5


def test_bad_arguments_are_refused(database: Database, app_id: str) -> None:
    with pytest.raises(ValueError, match="outcome"):
        database.run_sync(lambda c: verification_log.recent_entries(c, app_id, outcome="ok"))
    with pytest.raises(ValueError, match="limit"):
        database.run_sync(lambda c: verification_log.recent_entries(c, app_id, limit=0))


def test_prune_takes_the_oldest_first_up_to_the_limit(database: Database, app_id: str) -> None:
    entries = [entry(app_id, minutes) for minutes in range(10)]  # written oldest first
    database.run_sync(lambda c: verification_log.insert_entries(c, entries))
    cutoff = T0 + timedelta(minutes=6)  # entries 0-5 are older

    removed = [database.run_sync(lambda c: verification_log.prune(c, cutoff, 4)) for _ in range(3)]
    assert removed == [4, 2, 0]  # a short chunk: the cutoff is reached
    left = database.run_sync(lambda c: verification_log.recent_entries(c, app_id, limit=50))
    assert sorted(e["at"] for e in left) == [
        (T0 + timedelta(minutes=m)).isoformat() for m in range(6, 10)
    ]


def test_prune_stops_at_the_first_recent_row(database: Database, app_id: str) -> None:
    """Rows are taken in the order they were written: an old row written after a recent
    one (another node's late batch) waits for a later round rather than cost a scan."""
    entries = [entry(app_id, 0), entry(app_id, 20), entry(app_id, 1)]
    database.run_sync(lambda c: verification_log.insert_entries(c, entries))
    cutoff = T0 + timedelta(minutes=10)
    assert database.run_sync(lambda c: verification_log.prune(c, cutoff, 1)) == 1
    assert database.run_sync(lambda c: verification_log.prune(c, cutoff, 1)) == 0
    assert database.run_sync(lambda c: verification_log.prune(c, cutoff, 10)) == 1
    left = database.run_sync(lambda c: verification_log.recent_entries(c, app_id))
    assert [e["at"] for e in left] == [(T0 + timedelta(minutes=20)).isoformat()]
