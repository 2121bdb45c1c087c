"""Successful identifies, counted per app, secret (or public key) and UTC minute.

SPEC 9: a row per verified identify cost the returning visitor's identify more than
the rest of its work, and told the operator nothing a count does not. Failures and
unverified claims keep their own rows, with their diagnosis (``verification_log.py``);
successes are added here once per flush, one upsert per (app, secret, minute), and each
contact keeps the time it was last verified.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import Connection, bindparam, delete, func, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import Insert as PostgresInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SQLiteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql.base import Executable

from .models import NO_SECRET, Contact, VerificationCount
from .prepared import Prepared

#: (app_id, secret_id or NO_SECRET, minute start) -> how many verified in that minute.
SuccessKey = tuple[str, str, datetime]


def minute_of(at: datetime) -> datetime:
    """The start of ``at``'s UTC minute (``at`` aware)."""
    return at.astimezone(UTC).replace(second=0, microsecond=0)


def _upsert(
    insert: Callable[[type[VerificationCount]], SQLiteInsert | PostgresInsert],
) -> Executable:
    inserted = insert(VerificationCount).values(
        app_id=bindparam("b_app_id"),
        secret_id=bindparam("b_secret_id"),
        minute=bindparam("b_minute"),
        count=bindparam("b_count"),
    )
    # Two nodes (or two flushes) adding to one minute: the counts add up.
    return inserted.on_conflict_do_update(
        index_elements=[
            VerificationCount.app_id,
            VerificationCount.secret_id,
            VerificationCount.minute,
        ],
        set_={"count": VerificationCount.count + inserted.excluded["count"]},
    )


_ADD: Final = Prepared(_upsert(sqlite_insert), postgresql=_upsert(pg_insert))

# Forward only: a flush that carries an older time (another node's, a late one) leaves
# a newer one in place.
_MARK: Final = Prepared(
    update(Contact)
    .where(
        Contact.id == bindparam("b_contact_id"),
        or_(Contact.last_verified_at.is_(None), Contact.last_verified_at < bindparam("b_at")),
    )
    .values(last_verified_at=bindparam("b_at"))
)


def add_successes(connection: Connection, counts: Mapping[SuccessKey, int]) -> None:
    """Add ``counts`` to the stored ones: one upsert per (app, secret, minute)."""
    _ADD.many(
        connection,
        [
            {
                "b_app_id": app_id,
                "b_secret_id": (secret_id or NO_SECRET)[:40],
                "b_minute": minute_of(minute),
                "b_count": count,
            }
            for (app_id, secret_id, minute), count in counts.items()
        ],
    )


def mark_verified(connection: Connection, times: Mapping[str, datetime]) -> None:
    """Move each contact's ``last_verified_at`` forward to its time here (aware UTC):
    one UPDATE per contact, never backwards."""
    _MARK.many(
        connection, [{"b_contact_id": contact_id, "b_at": at} for contact_id, at in times.items()]
    )


def recent_counts(connection: Connection, app_id: str, *, limit: int = 50) -> list[dict[str, Any]]:
    """The app's latest ``limit`` (minute, secret) counts, newest minute first, the
    minute as ISO 8601 text and ``secret_id`` None for a success of no recorded key."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    rows = connection.execute(
        select(VerificationCount.minute, VerificationCount.secret_id, VerificationCount.count)
        .where(VerificationCount.app_id == app_id)
        .order_by(VerificationCount.minute.desc(), VerificationCount.secret_id)
        .limit(limit)
    )
    return [
        {
            "minute": minute.isoformat(),
            "secret_id": secret_id if secret_id != NO_SECRET else None,
            "count": count,
        }
        for minute, secret_id, count in rows
    ]


def verified_since(connection: Connection, app_id: str, since: datetime) -> int:
    """How many identifies of the app verified in the minutes that began at or after
    ``since`` (aware): the counts' resolution is a minute."""
    total = connection.execute(
        select(func.coalesce(func.sum(VerificationCount.count), 0)).where(
            VerificationCount.app_id == app_id, VerificationCount.minute >= since
        )
    ).scalar_one()
    return int(total)


def prune(connection: Connection, older_than: datetime, limit: int) -> int:
    """Remove up to ``limit`` of the counts of minutes before ``older_than``, oldest
    first; how many went. A short chunk means the cutoff is reached."""
    key = tuple_(VerificationCount.app_id, VerificationCount.secret_id, VerificationCount.minute)
    doomed = connection.execute(
        select(VerificationCount.app_id, VerificationCount.secret_id, VerificationCount.minute)
        .where(VerificationCount.minute < older_than)
        .order_by(VerificationCount.minute)
        .limit(limit)
    ).all()
    if not doomed:
        return 0
    result = connection.execute(
        delete(VerificationCount).where(key.in_([tuple(row) for row in doomed]))
    )
    return int(result.rowcount)
