"""The idempotency keys of the backend's notification sends: rows and queries only.

The key is the table's primary key (with the app), so the database itself decides
which of two concurrent sends with one key is first: the second insert waits for the
first transaction and then fails, and the second caller reads the first's answer. A
check-then-insert would let both through."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Connection, delete, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError

from .models import NotificationSend

#: A key is remembered this long; a repeat after it is a new send.
KEY_LIFETIME: Final = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Earlier:
    """The send that used the key first: its body's fingerprint and its answer."""

    fingerprint: str
    response: dict[str, Any]


def claim(
    connection: Connection, app_id: str, key: str, fingerprint: str, now: datetime
) -> Earlier | None:
    """Take ``key`` for this send (``None``), or the earlier send that holds it."""
    where = (NotificationSend.app_id == app_id, NotificationSend.idempotency_key == key)
    connection.execute(
        delete(NotificationSend).where(*where, NotificationSend.created_at < now - KEY_LIFETIME)
    )
    try:
        # A savepoint: on PostgreSQL a failed insert would abort the whole transaction.
        with connection.begin_nested():
            connection.execute(
                insert(NotificationSend).values(
                    app_id=app_id,
                    idempotency_key=key,
                    fingerprint=fingerprint,
                    response={},
                    created_at=now,
                )
            )
    except IntegrityError:
        row = connection.execute(
            select(NotificationSend.fingerprint, NotificationSend.response).where(*where)
        ).one()
        return Earlier(row.fingerprint, row.response)
    return None


def record_response(
    connection: Connection, app_id: str, key: str, response: dict[str, Any]
) -> None:
    """Keep the answer of the send that claimed ``key``, for its repeats."""
    connection.execute(
        update(NotificationSend)
        .where(NotificationSend.app_id == app_id, NotificationSend.idempotency_key == key)
        .values(response=response)
    )


def prune_keys(connection: Connection, older_than: datetime, limit: int) -> int:
    """Forget up to ``limit`` keys taken before ``older_than``, oldest first; how many.
    Rows another node is pruning are skipped, not waited for (PostgreSQL)."""
    chosen = connection.execute(
        select(NotificationSend.app_id, NotificationSend.idempotency_key)
        .where(NotificationSend.created_at < older_than)
        .order_by(NotificationSend.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not chosen:
        return 0
    pairs = [(row.app_id, row.idempotency_key) for row in chosen]
    return int(
        connection.execute(
            delete(NotificationSend).where(
                tuple_(NotificationSend.app_id, NotificationSend.idempotency_key).in_(pairs)
            )
        ).rowcount
    )
