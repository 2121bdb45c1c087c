"""Users an app revoked (SPEC 15): from the revocation on, that user's static hash is
refused and only tokens issued after it verify. The sessions are ended by the caller
(:func:`sessions_of_user` finds them); the config version bump makes every node
reload the app's revocations within a second."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, cast

from sqlalchemy import Connection, Table, delete, insert, select, update

from .apps import bump_config, get_app
from .errors import Invalid
from .identities import end_browser_session
from .models import Contact, RevokedUser, Visitor
from .verification_log import insert_entries

_visitors = cast(Table, Visitor.__table__)
#: Every node holds an app's revocations in memory (identify checks them with no
#: query), so an app may hold this many: far more than anyone revokes one by one. Past
#: it, rotating the secret is the tool.
MAX_REVOKED_PER_APP: Final = 100_000


class TooManyRevoked(Invalid):
    code = "too_many_revoked_users"


def revoke_user(connection: Connection, app_id: str, user_id: str, now: datetime) -> datetime:
    """Record (or move forward) the revocation of ``user_id``; returns its time."""
    get_app(connection, app_id)
    existing = connection.execute(
        select(RevokedUser.revoked_at).where(
            RevokedUser.app_id == app_id, RevokedUser.user_id == user_id
        )
    ).one_or_none()
    if existing is None:
        connection.execute(
            insert(RevokedUser).values(app_id=app_id, user_id=user_id, revoked_at=now)
        )
    else:
        connection.execute(
            update(RevokedUser)
            .where(RevokedUser.app_id == app_id, RevokedUser.user_id == user_id)
            .values(revoked_at=now)
        )
    bump_config(connection, app_id)
    return now


def unrevoke_user(connection: Connection, app_id: str, user_id: str) -> bool:
    result = connection.execute(
        delete(RevokedUser).where(RevokedUser.app_id == app_id, RevokedUser.user_id == user_id)
    )
    bump_config(connection, app_id)
    return bool(result.rowcount)


def revoked_users(connection: Connection, app_id: str) -> dict[str, datetime]:
    """Every revocation of the app: user id -> when."""
    rows = connection.execute(
        select(RevokedUser.user_id, RevokedUser.revoked_at).where(RevokedUser.app_id == app_id)
    )
    return {row.user_id: row.revoked_at for row in rows}


def sessions_of_user(
    connection: Connection, app_id: str, user_id: str
) -> Sequence[tuple[str, int]]:
    """(visitor id, epoch) of every live browser session acting as ``user_id``'s
    contacts in ``app_id``: what a revocation ends."""
    contact_ids = select(Contact.id).where(Contact.app_id == app_id, Contact.user_id == user_id)
    rows = connection.execute(
        select(_visitors.c.id, _visitors.c.session_epoch).where(
            _visitors.c.app_id == app_id,
            _visitors.c.retired_at.is_(None),
            _visitors.c.session_contact_id.in_(contact_ids),
        )
    ).all()
    return [(row.id, row.session_epoch) for row in rows]


@dataclass(frozen=True, slots=True)
class Revoked:
    user_id: str
    revoked_at: datetime
    ended: list[tuple[str, int]]  # the sessions ended: their streams close on every node

    def as_dict(self) -> dict[str, object]:
        return {
            "revoked": True,
            "user_id": self.user_id,
            "revoked_at": self.revoked_at.isoformat(),
            "sessions_ended": len(self.ended),
        }


def revoke(connection: Connection, app_id: str, user_id: str, now: datetime) -> Revoked:
    """Revoke ``user_id`` in one transaction: the revocation (every node reloads it
    within a second), every browser session acting as the user retired (as a logout
    would: its tokens end and its visitor id is never adopted again), and a line in
    the verification log. The caller writes the audit entry and tells the broker."""
    revoke_user(connection, app_id, user_id, now)
    ended = [
        (visitor_id, epoch)
        for visitor_id, epoch in sessions_of_user(connection, app_id, user_id)
        if end_browser_session(connection, visitor_id, epoch, now)
    ]
    insert_entries(
        connection,
        [
            {
                "app_id": app_id,
                "at": now,
                "outcome": "revoked",
                "method": "none",
                "code": "user_revoked",
                "hint": (
                    f"Revoked: {len(ended)} session(s) ended; this user's hash is refused "
                    "and only tokens issued from now on verify."
                ),
                "identifier": user_id,
            }
        ],
    )
    return Revoked(user_id, now, ended)
