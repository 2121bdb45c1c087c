"""One-time links that let an invited operator choose their password.

A link carries a random token; only its SHA-256 is stored (``id``), as for dashboard
sessions, so the table opens no account. What a link may do (who may make one, how
long it lasts, what a password must be) is :mod:`countersign.operators.team`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, insert, select, update

from .models import Operator, OperatorInvitation
from .operators import NO_PASSWORD

#: What a presented link turned out to be.
LinkState = Literal["valid", "used", "expired", "revoked", "unknown"]


@dataclass(frozen=True, slots=True)
class InvitationRecord:
    operator_id: str
    email: str
    created_at: datetime
    expires_at: datetime
    state: LinkState


def create_invitation(
    connection: Connection,
    *,
    token_digest: str,
    operator_id: str,
    invited_by: str | None,
    now: datetime,
    ttl: timedelta,
) -> None:
    """Store a new link for ``operator_id``; their older links stop working."""
    revoke_invitations(connection, operator_id, now)
    connection.execute(
        insert(OperatorInvitation).values(
            id=token_digest,
            operator_id=operator_id,
            invited_by=invited_by,
            created_at=now,
            expires_at=now + ttl,
        )
    )


def _state(row: Any, now: datetime) -> LinkState:
    if row.used_at is not None:
        return "used"
    # Revoked by a newer link, by deactivation, or because a password was set another
    # way (``countersign operators set-password``): a link never replaces a password.
    if row.revoked_at is not None or row.deactivated_at is not None:
        return "revoked"
    if row.password_hash != NO_PASSWORD:
        return "revoked"
    if row.expires_at <= now:
        return "expired"
    return "valid"


def find_invitation(
    connection: Connection, token_digest: str, now: datetime
) -> InvitationRecord | None:
    """The link with this digest and what it is now, or ``None`` if there is none."""
    row = connection.execute(
        select(
            OperatorInvitation.operator_id,
            OperatorInvitation.created_at,
            OperatorInvitation.expires_at,
            OperatorInvitation.used_at,
            OperatorInvitation.revoked_at,
            Operator.email,
            Operator.deactivated_at,
            Operator.password_hash,
        )
        .join(Operator, Operator.id == OperatorInvitation.operator_id)
        .where(OperatorInvitation.id == token_digest)
    ).one_or_none()
    if row is None:
        return None
    return InvitationRecord(
        row.operator_id, row.email, row.created_at, row.expires_at, _state(row, now)
    )


def use_invitation(connection: Connection, token_digest: str, now: datetime) -> str | None:
    """Spend the link: the operator it was for, or ``None`` when it is no longer
    valid. One statement decides, so two requests racing with one link cannot both
    win."""
    spent = connection.execute(
        update(OperatorInvitation)
        .where(
            OperatorInvitation.id == token_digest,
            OperatorInvitation.used_at.is_(None),
            OperatorInvitation.revoked_at.is_(None),
            OperatorInvitation.expires_at > now,
        )
        .values(used_at=now)
        .returning(OperatorInvitation.operator_id)
    ).scalar_one_or_none()
    return None if spent is None else str(spent)


def revoke_invitations(connection: Connection, operator_id: str, now: datetime) -> int:
    """End every unused link of ``operator_id``."""
    result = connection.execute(
        update(OperatorInvitation)
        .where(
            OperatorInvitation.operator_id == operator_id,
            OperatorInvitation.used_at.is_(None),
            OperatorInvitation.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    return int(result.rowcount or 0)


def pending_until(connection: Connection, now: datetime) -> dict[str, datetime]:
    """For each operator with a usable link, when their newest one expires (the Team
    page says so)."""
    rows = connection.execute(
        select(OperatorInvitation.operator_id, OperatorInvitation.expires_at).where(
            OperatorInvitation.used_at.is_(None),
            OperatorInvitation.revoked_at.is_(None),
            OperatorInvitation.expires_at > now,
        )
    )
    found: dict[str, datetime] = {}
    for row in rows:
        if row.operator_id not in found or row.expires_at > found[row.operator_id]:
            found[row.operator_id] = row.expires_at
    return found
