"""Operators: their accounts, dashboard sessions and audit trail.

Passwords arrive here already hashed (argon2id, in :mod:`countersign.operators.passwords`)
and session tokens as their SHA-256, so nothing in the database can log anyone in.

What operators see of an app's conversations is ``storage.inbox``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..vocabulary.ids import new_id
from .errors import Conflict, Invalid, NotFound
from .models import Operator, OperatorAudit, OperatorSession

Role = Literal["owner", "agent"]
ROLES: Final = ("owner", "agent")
MAX_EMAIL_CHARS: Final = 255
_EMAIL: Final = re.compile(r"[^@\s]+@[^@\s]+")


class InvalidOperator(Invalid):
    code = "invalid_operator"


class OperatorExists(Conflict):
    code = "operator_exists"


class OperatorNotFound(NotFound):
    code = "operator_not_found"


#: The password hash of an invited operator who has not chosen a password yet. No
#: argon2 hash starts with "!", and :func:`credentials` never returns such a row, so
#: nobody logs in with it; the one-time link (``storage.invitations``) replaces it.
NO_PASSWORD: Final = "!invited"  # noqa: S105 (a marker, not a password)


@dataclass(frozen=True, slots=True)
class OperatorRecord:
    id: str
    email: str
    name: str
    role: Role
    created_at: datetime
    last_login_at: datetime | None
    deactivated_at: datetime | None = None
    invited: bool = False  # has not yet chosen a password through their link

    @property
    def is_owner(self) -> bool:
        return self.role == "owner"

    @property
    def active(self) -> bool:
        return self.deactivated_at is None

    @property
    def state(self) -> str:
        """``active``, ``invited`` (no password yet) or ``deactivated``."""
        if self.deactivated_at is not None:
            return "deactivated"
        return "invited" if self.invited else "active"

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "role": self.role,
            "state": self.state,
            "active": self.active,
            "created_at": self.created_at.isoformat(),
            "last_login_at": self.last_login_at.isoformat() if self.last_login_at else None,
            "deactivated_at": self.deactivated_at.isoformat() if self.deactivated_at else None,
        }


_OPERATOR_COLUMNS = (
    Operator.id,
    Operator.email,
    Operator.name,
    Operator.role,
    Operator.created_at,
    Operator.last_login_at,
    Operator.deactivated_at,
    (Operator.password_hash == NO_PASSWORD).label("invited"),
)


def _operator(row: Any) -> OperatorRecord:
    return OperatorRecord(
        id=row.id,
        email=row.email,
        name=row.name,
        role=row.role,
        created_at=row.created_at,
        last_login_at=row.last_login_at,
        deactivated_at=row.deactivated_at,
        invited=bool(row.invited),
    )


def normalize_email(email: str) -> str:
    """The login name: trimmed and lowercased, so ``Ann@X.com`` and ``ann@x.com`` are
    one operator (mail servers treat them alike in practice)."""
    text = email.strip().lower()
    if not 3 <= len(text) <= MAX_EMAIL_CHARS or not _EMAIL.fullmatch(text):
        raise InvalidOperator(f"{email!r} is not an email address")
    if any(not ch.isprintable() for ch in text):
        raise InvalidOperator("an email address has no control characters")
    return text


def _name(name: str | None, email: str) -> str:
    text = (name or "").strip() or email.split("@", 1)[0]
    if any(not ch.isprintable() for ch in text):
        raise InvalidOperator("a name has no control characters")
    return text[:255]


# Accounts ------------------------------------------------------------------------


def create_operator(
    connection: Connection,
    *,
    email: str,
    password_hash: str,
    role: Role,
    name: str | None = None,
    now: datetime,
) -> OperatorRecord:
    if role not in ROLES:
        raise InvalidOperator(f"role must be one of {', '.join(ROLES)}")
    address = normalize_email(email)
    operator_id = new_id("op", 9)
    try:
        with connection.begin_nested():
            connection.execute(
                insert(Operator).values(
                    id=operator_id,
                    email=address,
                    name=_name(name, address),
                    role=role,
                    password_hash=password_hash,
                    created_at=now,
                )
            )
    except IntegrityError:
        raise OperatorExists(f"an operator {address!r} exists already") from None
    return get_operator(connection, operator_id)


def get_operator(connection: Connection, operator_id: str) -> OperatorRecord:
    row = connection.execute(
        select(*_OPERATOR_COLUMNS).where(Operator.id == operator_id)
    ).one_or_none()
    if row is None:
        raise OperatorNotFound(f"no operator {operator_id!r}")
    return _operator(row)


def list_operators(connection: Connection) -> list[OperatorRecord]:
    rows = connection.execute(select(*_OPERATOR_COLUMNS).order_by(Operator.created_at))
    return [_operator(row) for row in rows]


def operator_count(connection: Connection) -> int:
    return int(connection.execute(select(func.count()).select_from(Operator)).scalar_one())


def credentials(connection: Connection, email: str) -> tuple[OperatorRecord, str] | None:
    """The operator with this login email and their password hash, if there is one who
    may log in: a deactivated operator, or an invited one without a password yet, is
    answered like an unknown email (the login then costs the same dummy check)."""
    try:
        address = normalize_email(email)
    except InvalidOperator:
        return None
    row = connection.execute(
        select(*_OPERATOR_COLUMNS, Operator.password_hash).where(
            Operator.email == address,
            Operator.deactivated_at.is_(None),
            Operator.password_hash != NO_PASSWORD,
        )
    ).one_or_none()
    return None if row is None else (_operator(row), row.password_hash)


def password_hash_of(connection: Connection, operator_id: str) -> str | None:
    found = connection.execute(
        select(Operator.password_hash).where(Operator.id == operator_id)
    ).scalar_one_or_none()
    return None if found is None else str(found)


def set_password_hash(
    connection: Connection, email: str, password_hash: str, now: datetime
) -> OperatorRecord:
    """Replace an operator's password and end every session they have."""
    address = normalize_email(email)
    operator_id = connection.execute(
        select(Operator.id).where(Operator.email == address)
    ).scalar_one_or_none()
    if operator_id is None:
        raise OperatorNotFound(f"no operator {address!r}")
    connection.execute(
        update(Operator).where(Operator.id == operator_id).values(password_hash=password_hash)
    )
    revoke_operator_sessions(connection, operator_id, now)
    return get_operator(connection, operator_id)


def update_password_hash(connection: Connection, operator_id: str, password_hash: str) -> None:
    """Store a rehash of the same password (stronger parameters); sessions stay."""
    connection.execute(
        update(Operator).where(Operator.id == operator_id).values(password_hash=password_hash)
    )


def operator_by_email(connection: Connection, email: str) -> OperatorRecord:
    address = normalize_email(email)
    row = connection.execute(
        select(*_OPERATOR_COLUMNS).where(Operator.email == address)
    ).one_or_none()
    if row is None:
        raise OperatorNotFound(f"no operator {address!r}")
    return _operator(row)


def set_name(connection: Connection, operator_id: str, name: str) -> None:
    connection.execute(update(Operator).where(Operator.id == operator_id).values(name=name))


def set_role(connection: Connection, operator_id: str, role: Role) -> None:
    if role not in ROLES:
        raise InvalidOperator(f"role must be one of {', '.join(ROLES)}")
    connection.execute(update(Operator).where(Operator.id == operator_id).values(role=role))


def set_deactivated(connection: Connection, operator_id: str, at: datetime | None) -> None:
    """Deactivate (``at``: since when) or reactivate (``None``) an operator's account.
    Ending their sessions is the caller's: :func:`revoke_operator_sessions`."""
    connection.execute(update(Operator).where(Operator.id == operator_id).values(deactivated_at=at))


def active_owner_ids(connection: Connection) -> list[str]:
    """The owners who can log in (active, with a password), their rows locked until
    the transaction ends (on PostgreSQL; SQLite's writes take the whole database), so
    two owners demoting each other at once cannot leave the team with none."""
    query = select(Operator.id).where(
        Operator.role == "owner",
        Operator.deactivated_at.is_(None),
        Operator.password_hash != NO_PASSWORD,
    )
    return list(connection.execute(query.order_by(Operator.id).with_for_update()).scalars())


def delete_operator(connection: Connection, email: str) -> OperatorRecord:
    record = operator_by_email(connection, email)
    connection.execute(delete(Operator).where(Operator.id == record.id))
    return record


# Sessions ------------------------------------------------------------------------


def open_session(
    connection: Connection,
    operator_id: str,
    token_digest: str,
    *,
    now: datetime,
    ttl: timedelta,
    client_ip: str | None,
) -> None:
    connection.execute(
        insert(OperatorSession).values(
            id=token_digest,
            operator_id=operator_id,
            created_at=now,
            expires_at=now + ttl,
            client_ip=client_ip[:64] if client_ip else None,
        )
    )
    connection.execute(update(Operator).where(Operator.id == operator_id).values(last_login_at=now))
    # Keep the table small: a login sweeps this operator's dead sessions.
    connection.execute(
        delete(OperatorSession).where(
            OperatorSession.operator_id == operator_id,
            (OperatorSession.expires_at <= now) | OperatorSession.revoked_at.is_not(None),
        )
    )


def session_operator(
    connection: Connection, token_digest: str, now: datetime
) -> OperatorRecord | None:
    """The operator logged in by this session, if it is neither revoked nor expired."""
    row = connection.execute(
        select(*_OPERATOR_COLUMNS, OperatorSession.expires_at)
        .join(OperatorSession, OperatorSession.operator_id == Operator.id)
        .where(
            OperatorSession.id == token_digest,
            OperatorSession.revoked_at.is_(None),
            # Deactivation revokes the sessions too; this holds even for one it missed.
            Operator.deactivated_at.is_(None),
        )
    ).one_or_none()
    if row is None or row.expires_at <= now:
        return None
    return _operator(row)


def close_session(connection: Connection, token_digest: str, now: datetime) -> None:
    connection.execute(
        update(OperatorSession)
        .where(OperatorSession.id == token_digest, OperatorSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def revoke_operator_sessions(connection: Connection, operator_id: str, now: datetime) -> int:
    result = connection.execute(
        update(OperatorSession)
        .where(OperatorSession.operator_id == operator_id, OperatorSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(result.rowcount or 0)


# Audit ---------------------------------------------------------------------------


def record_system_audit(
    connection: Connection, actor: str, action: str, *, app_id: str, target: str, now: datetime
) -> None:
    """An audit row for what no operator did (``actor``: "server API", "command line")."""
    connection.execute(
        insert(OperatorAudit).values(
            at=now,
            app_id=app_id,
            operator_id=actor[:40],
            operator_email=actor[:255],
            action=action[:40],
            target=target[:64],
        )
    )


def record_audit(
    connection: Connection,
    operator: OperatorRecord,
    action: str,
    *,
    app_id: str | None,
    target: str | None = None,
    client_ip: str | None = None,
    now: datetime,
) -> None:
    connection.execute(
        insert(OperatorAudit).values(
            at=now,
            app_id=app_id,
            operator_id=operator.id,
            operator_email=operator.email,
            action=action[:40],
            target=target[:64] if target else None,
            client_ip=client_ip[:64] if client_ip else None,
        )
    )


def recent_audit(
    connection: Connection, app_id: str | None, *, limit: int = 20, actions: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """The newest entries about ``app_id``, or about no app (the team's) for ``None``."""
    query = select(
        OperatorAudit.at,
        OperatorAudit.operator_email,
        OperatorAudit.action,
        OperatorAudit.target,
        OperatorAudit.client_ip,
    ).where(OperatorAudit.app_id.is_(None) if app_id is None else OperatorAudit.app_id == app_id)
    if actions:
        query = query.where(OperatorAudit.action.in_(actions))
    rows = connection.execute(
        query.order_by(OperatorAudit.at.desc(), OperatorAudit.id.desc()).limit(limit)
    ).mappings()
    return [dict(row) for row in rows]
