"""Successes counted per app, secret and minute, and contacts' last verified time, on
SQLite and PostgreSQL (SPEC 9)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from countersign.storage import verification_counts, verification_log
from countersign.storage.database import Database
from countersign.storage.models import Contact

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def stored(database: Database, app_id: str) -> list[tuple[str | None, str, int]]:
    rows = database.run_sync(lambda c: verification_counts.recent_counts(c, app_id))
    return [(row["secret_id"], row["minute"], row["count"]) for row in rows]


def test_counts_add_up_within_a_minute_and_split_by_secret_and_minute(
    database: Database, app_id: str
) -> None:
    database.run_sync(
        lambda c: verification_counts.add_successes(
            c, {(app_id, "sec_a", at(1)): 5, (app_id, "sec_b", at(2)): 1}
        )
    )
    # A second flush in the same minute (another second of it) adds to the same row;
    # the next minute starts its own.
    database.run_sync(
        lambda c: verification_counts.add_successes(
            c, {(app_id, "sec_a", at(59.9)): 2, (app_id, "sec_a", at(60)): 4}
        )
    )
    assert stored(database, app_id) == [
        ("sec_a", at(60).isoformat(), 4),
        ("sec_a", T0.isoformat(), 7),
        ("sec_b", T0.isoformat(), 1),
    ]


def test_no_secret_is_stored_as_a_key_and_read_back_as_none(
    database: Database, app_id: str
) -> None:
    for _ in range(2):  # NULL would never conflict: the sentinel makes it one row
        database.run_sync(lambda c: verification_counts.add_successes(c, {(app_id, "", at(5)): 1}))
    assert stored(database, app_id) == [(None, T0.isoformat(), 2)]


def test_outcome_counts_sum_the_counts_with_old_verified_rows(
    database: Database, app_id: str
) -> None:
    old_row = {"app_id": app_id, "at": at(30), "outcome": "verified", "method": "hash"}
    failure = {**old_row, "outcome": "refused", "code": "unknown"}
    database.run_sync(
        lambda c: verification_log.insert_entries(c, [{**old_row, "code": "ok"}, failure])
    )
    database.run_sync(
        lambda c: verification_counts.add_successes(
            c, {(app_id, "sec_a", at(0)): 3, (app_id, "sec_a", at(-3600)): 100}
        )
    )
    counts = database.run_sync(lambda c: verification_log.outcome_counts(c, app_id, T0))
    # The hour-old minute is outside the window; this minute's three and the old row in.
    assert counts == {"verified": 4, "unverified": 0, "refused": 1, "anonymous": 0}
    assert database.run_sync(lambda c: verification_counts.verified_since(c, app_id, T0)) == 3


def test_last_verified_at_moves_forward_only(database: Database, app_id: str) -> None:
    database.run_sync(
        lambda c: c.execute(
            insert(Contact).values(
                [{"id": "con_one", "app_id": app_id}, {"id": "con_two", "app_id": app_id}]
            )
        )
    )

    def times() -> dict[str, datetime | None]:
        rows = database.run_sync(
            lambda c: c.execute(select(Contact.id, Contact.last_verified_at)).all()
        )
        return dict(rows)

    assert times() == {"con_one": None, "con_two": None}
    database.run_sync(
        lambda c: verification_counts.mark_verified(c, {"con_one": at(10), "con_two": at(5)})
    )
    # A late flush (another node's, an older time) leaves the newer time in place.
    database.run_sync(
        lambda c: verification_counts.mark_verified(c, {"con_one": at(2), "con_two": at(20)})
    )
    assert times() == {"con_one": at(10), "con_two": at(20)}


def test_prune_removes_the_minutes_before_the_cutoff_in_chunks(
    database: Database, app_id: str
) -> None:
    database.run_sync(
        lambda c: verification_counts.add_successes(
            c, {(app_id, f"sec_{n}", at(-60 * minutes)): 1 for n, minutes in enumerate(range(5))}
        )
    )
    cutoff = at(-60 * 2)  # minutes 3 and 4 ago are older; 2 ago is the cutoff itself
    removed = database.run_sync(lambda c: verification_counts.prune(c, cutoff, 1))
    assert removed == 1
    assert database.run_sync(lambda c: verification_counts.prune(c, cutoff, 10)) == 1
    assert database.run_sync(lambda c: verification_counts.prune(c, cutoff, 10)) == 0
    assert [minute for _, minute, _ in stored(database, app_id)] == [
        at(-60 * m).isoformat() for m in (0, 1, 2)
    ]
