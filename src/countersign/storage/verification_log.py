"""The verification log: every failed or unverified identify, written in batches, read
newest first.

The server's recorder hands over a batch every quarter second; the dashboard and
``countersign log`` read it back. Successes are counted per minute instead
(``verification_counts.py``, SPEC 9); verified rows written before the counts
existed stay here and are read as before. Identifiers and origins are claims from the browser,
so they are made safe to store here: a batch that fails on one oversized or NUL-bearing
value would lose every other outcome in it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, bindparam, delete, func, insert, select

from ..vocabulary.clock import utcnow
from .models import VerificationLogEntry
from .prepared import Prepared
from .verification_counts import verified_since

#: Identify outcomes. The log also holds ``revoked`` lines (an operator revoked a
#: user, SPEC 15): not an identify, so neither a filter nor a zero in the counts.
OUTCOMES: Final = ("verified", "unverified", "refused", "anonymous")
METHODS: Final = ("hash", "jwt", "none")

#: Column widths of the text fields; longer claims are cut, not refused.
_LIMITS: Final = {"identifier": 255, "origin": 255, "client_ip": 64, "secret_id": 40, "code": 40}
_OPTIONAL: Final = ("identifier", "secret_id", "origin", "client_ip")

_COLUMNS: Final = (
    VerificationLogEntry.id,
    VerificationLogEntry.app_id,
    VerificationLogEntry.at,
    VerificationLogEntry.outcome,
    VerificationLogEntry.method,
    VerificationLogEntry.code,
    VerificationLogEntry.hint,
    VerificationLogEntry.identifier,
    VerificationLogEntry.secret_id,
    VerificationLogEntry.origin,
    VerificationLogEntry.client_ip,
)


def _storable(name: str, value: str | None) -> str | None:
    """``value`` as a column can hold it: PostgreSQL refuses NUL in text and overlong
    varchars, SQLite accepts both, so both are fixed here for the two to agree."""
    if value is None:
        return None
    value = str(value).replace("\x00", "\ufffd")
    limit = _LIMITS.get(name)
    return value[:limit] if limit else value


def _row(entry: Mapping[str, Any]) -> dict[str, Any]:
    # Every row carries every column: an executemany takes its columns from the first
    # row, so a key missing from a later one would fail the whole batch.
    row: dict[str, Any] = {
        "app_id": entry["app_id"],
        "at": entry.get("at") or utcnow(),
        "outcome": entry["outcome"],
        "method": entry["method"],
        "code": _storable("code", entry["code"]),
        "hint": _storable("hint", entry.get("hint")) or "",
    }
    for name in _OPTIONAL:
        row[name] = _storable(name, entry.get(name))
    return row


_INSERT: Final = Prepared(
    # Every column the log reads back but its generated id.
    insert(VerificationLogEntry).values({c.key: bindparam(c.key) for c in _COLUMNS[1:]})
)


def insert_entries(connection: Connection, entries: Sequence[Mapping[str, Any]]) -> None:
    """Write a batch of outcomes in one statement.

    Each entry has ``app_id``, ``outcome``, ``method`` and ``code``; ``at`` (aware UTC,
    default now), ``hint``, ``identifier``, ``secret_id``, ``origin`` and ``client_ip``
    are optional. Never pass a presented signature: the log holds no hashes.
    """
    # Prepared: one row per identify, and SQLAlchemy's executemany cost more per row
    # than the identify's own statements (benchmarks/identify.py).
    _INSERT.many(connection, [_row(entry) for entry in entries])


def prune(connection: Connection, older_than: datetime, limit: int) -> int:
    """Remove up to ``limit`` of the oldest entries written before ``older_than``; how
    many went. Rows are taken in id order, which is the order they were written, so
    this needs no index on ``at`` (one would cost every identify a write): the oldest
    ``limit`` rows are read and those past the cutoff deleted. A chunk that comes back
    short means the cutoff is reached (or another node pruned the rest)."""
    oldest = connection.execute(
        select(VerificationLogEntry.id, VerificationLogEntry.at)
        .order_by(VerificationLogEntry.id)
        .limit(limit)
    ).all()
    doomed = [row.id for row in oldest if row.at < older_than]
    if not doomed:
        return 0
    result = connection.execute(
        delete(VerificationLogEntry).where(VerificationLogEntry.id.in_(doomed))
    )
    return int(result.rowcount)


def recent_entries(
    connection: Connection, app_id: str, *, limit: int = 50, outcome: str | None = None
) -> list[dict[str, Any]]:
    """The app's latest ``limit`` outcomes, newest first, ``at`` as ISO 8601 text.

    Entries of one batch can share a time; the id (insertion order) breaks the tie.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    query = select(*_COLUMNS).where(VerificationLogEntry.app_id == app_id)
    if outcome is not None:
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}")
        query = query.where(VerificationLogEntry.outcome == outcome)
    query = query.order_by(VerificationLogEntry.at.desc(), VerificationLogEntry.id.desc())
    rows = connection.execute(query.limit(limit)).mappings()
    return [{**row, "at": row["at"].isoformat()} for row in rows]


def outcome_counts(connection: Connection, app_id: str, since: datetime) -> dict[str, int]:
    """How many identifies of each outcome the app had from ``since`` (aware) on.

    Every outcome is a key, zero when absent, so a caller can show a steady summary.
    ``verified`` adds the counted successes (whole minutes from ``since`` on) to any
    verified rows the log still holds from before they were counted.
    """
    counts = dict.fromkeys(OUTCOMES, 0)
    rows = connection.execute(
        select(VerificationLogEntry.outcome, func.count())
        .where(VerificationLogEntry.app_id == app_id, VerificationLogEntry.at >= since)
        .group_by(VerificationLogEntry.outcome)
    )
    for outcome, count in rows:
        counts[outcome] = count
    counts["verified"] += verified_since(connection, app_id, since)
    return counts


def would_be_refused(connection: Connection, app_id: str, since: datetime) -> int:
    """Identifies since ``since`` that failed verification but were let through as
    unverified (``report`` mode): what ``required`` would have refused."""
    return int(
        connection.execute(
            select(func.count())
            .select_from(VerificationLogEntry)
            .where(
                VerificationLogEntry.app_id == app_id,
                VerificationLogEntry.at >= since,
                VerificationLogEntry.outcome == "unverified",
                VerificationLogEntry.code.not_in(("none", "ok")),
            )
        ).scalar_one()
    )
