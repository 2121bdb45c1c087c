"""identify counts its successes per app, secret and minute, and keeps each contact's
last verified time; failures stay rows with their diagnosis (SPEC 9), on both
databases."""

from __future__ import annotations

from datetime import datetime

from countersign import sign
from countersign.storage import apps

from .conftest import Harness


def test_successes_of_one_flush_are_one_count_row(harness: Harness) -> None:
    contacts = {harness.verified(f"user-{n}")["contact"]["id"] for n in range(12)}
    rows = harness.successes()
    # One upsert for the minute (two if the twelve straddled a minute boundary).
    assert len(rows) == 1 or (len(rows) == 2 and rows[0]["minute"] != rows[1]["minute"])
    assert sum(row["count"] for row in rows) == 12
    assert {row["secret_id"] for row in rows} == {harness.secret_id}
    assert harness.log() == []  # no row per success
    assert all(harness.last_verified_at(contact) is not None for contact in contacts)


def test_two_flushes_add_up_and_last_verified_moves_forward(harness: Harness) -> None:
    document = harness.verified("returning")
    contact_id = document["contact"]["id"]
    first_count = harness.verified_count()
    first: datetime = harness.last_verified_at(contact_id)
    again = harness.verified("returning", visitor_id=document["visitor_id"])
    assert again["contact"]["id"] == contact_id
    assert (first_count, harness.verified_count()) == (1, 2)
    assert harness.last_verified_at(contact_id) > first


def test_each_secret_has_its_own_count(harness: Harness) -> None:
    second_id, second_secret = harness.backend.database.run_sync(
        lambda c: apps.create_secret(c, harness.backend.box, harness.app_id)
    )
    harness.client.app.state.countersign.directory.invalidate(harness.app_id)  # type: ignore[attr-defined]
    harness.verified("old-secret-user")
    response = harness.identify(user_id="new", user_hash=sign(second_secret, "new"))
    assert response.status_code == 200, response.text
    by_secret: dict[str, int] = {}
    for row in harness.successes():
        by_secret[row["secret_id"]] = by_secret.get(row["secret_id"], 0) + row["count"]
    assert by_secret == {harness.secret_id: 1, second_id: 1}


def test_failures_and_unverified_claims_stay_rows_with_their_diagnosis(
    harness: Harness,
) -> None:
    harness.set_policy(identity_mode="report")
    harness.verified("good")
    claimed = harness.identify(user_id="bad", user_hash=sign(harness.secret + "\n", "bad"))
    assert claimed.json()["identity"]["status"] == "unverified"
    never_verified = claimed.json()["contact"]["id"]
    harness.identify(user_id="nosig")
    entries = harness.log()
    assert [(e["outcome"], e["code"]) for e in entries] == [
        ("unverified", "missing_signature"),
        ("unverified", "secret_whitespace"),
    ]
    assert entries[1]["hint"]
    assert entries[1]["identifier"] == "bad"
    assert harness.verified_count() == 1
    assert harness.last_verified_at(never_verified) is None
