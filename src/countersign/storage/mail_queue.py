"""The mail outbox as the worker sees it: leases, and settling each email.

:func:`claim_due` takes the lease of due emails by a conditional UPDATE (on
PostgreSQL re-checked after the row lock, on SQLite one writer at a time), so when
several nodes race for an email exactly one gets each attempt; the claim also ends the
email's gathering. The outcome is written by :func:`settle`, only while the row is
still at that attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Connection, func, or_, select, update

from .models import OPEN_MAIL, App, Contact, Conversation, MailOutbox, Message, Operator

MAX_ERROR_CHARS: Final = 255


@dataclass(frozen=True, slots=True)
class ClaimedMail:
    id: str
    attempt: int
    kind: str
    app_id: str
    app_name: str
    email_delay: int
    conversation_id: str | None  # None: a digest of notifications
    contact_id: str
    operator_id: str | None
    from_seq: int
    up_to_seq: int
    message_id: str | None
    created_at: datetime


def claim_due(
    connection: Connection, now: datetime, lease: timedelta, limit: int = 20
) -> list[ClaimedMail]:
    free = or_(MailOutbox.lease_until.is_(None), MailOutbox.lease_until <= now)
    candidates = list(
        connection.execute(
            select(MailOutbox.id)
            .where(OPEN_MAIL, MailOutbox.next_attempt_at <= now, free)
            .order_by(MailOutbox.next_attempt_at, MailOutbox.id)
            .limit(limit)
        ).scalars()
    )
    claimed = []
    for mail_id in candidates:
        attempt = connection.execute(
            update(MailOutbox)
            .where(MailOutbox.id == mail_id, OPEN_MAIL, free)
            .values(lease_until=now + lease, attempts=MailOutbox.attempts + 1, gathering=False)
            .returning(MailOutbox.attempts)
        ).scalar_one_or_none()
        if attempt is not None:
            claimed.append(_claimed(connection, str(mail_id), int(attempt)))
    return claimed


def _claimed(connection: Connection, mail_id: str, attempt: int) -> ClaimedMail:
    mail = connection.execute(
        select(
            MailOutbox.__table__,
            App.name.label("app_name"),
            App.email_delay.label("app_email_delay"),
        )
        .join(App, App.id == MailOutbox.app_id)
        .where(MailOutbox.id == mail_id)
    ).one()
    return ClaimedMail(
        id=mail.id,
        attempt=attempt,
        kind=mail.kind,
        app_id=mail.app_id,
        app_name=mail.app_name,
        email_delay=int(mail.app_email_delay),
        conversation_id=mail.conversation_id,
        contact_id=mail.contact_id,
        operator_id=mail.operator_id,
        from_seq=mail.from_seq,
        up_to_seq=mail.up_to_seq,
        message_id=mail.message_id,
        created_at=mail.created_at,
    )


def messages_between(
    connection: Connection,
    conversation_id: str,
    after_seq: int,
    up_to_seq: int,
    authors: tuple[str, ...],
) -> list[dict[str, Any]]:
    """The conversation's messages with ``after_seq < seq <= up_to_seq`` by ``authors``."""
    rows = connection.execute(
        select(
            Message.seq, Message.author_type, Message.author_name, Message.body, Message.created_at
        )
        .where(
            Message.conversation_id == conversation_id,
            Message.seq > after_seq,
            Message.seq <= up_to_seq,
            Message.author_type.in_(authors),
        )
        .order_by(Message.seq)
    ).all()
    return [row._asdict() for row in rows]


def contact_of(connection: Connection, contact_id: str) -> dict[str, Any]:
    row = connection.execute(
        select(
            Contact.name, Contact.email, Contact.user_id, Contact.verified, Contact.via_email
        ).where(Contact.id == contact_id)
    ).one()
    return row._asdict()


def operator_of(connection: Connection, operator_id: str) -> dict[str, Any] | None:
    """An operator who still wants mail: active, with the switch on."""
    row = connection.execute(
        select(Operator.email, Operator.name).where(
            Operator.id == operator_id,
            Operator.deactivated_at.is_(None),
            Operator.email_notifications,
        )
    ).one_or_none()
    return None if row is None else row._asdict()


def conversation_assignee(connection: Connection, conversation_id: str) -> str | None:
    found = connection.execute(
        select(Conversation.assignee_id).where(Conversation.id == conversation_id)
    ).scalar_one_or_none()
    return None if found is None else str(found)


def fix_message_id(
    connection: Connection, claimed: ClaimedMail, message_id: str, to: str, subject: str
) -> None:
    """Name the email once (its first attempt): every retry sends the same Message-ID."""
    connection.execute(
        update(MailOutbox)
        .where(MailOutbox.id == claimed.id, MailOutbox.message_id.is_(None))
        .values(message_id=message_id, to_address=to[:320], subject=subject[:255])
    )


def settle(
    connection: Connection,
    claimed: ClaimedMail,
    now: datetime,
    *,
    status: str,
    reason: str | None = None,
    error: str | None = None,
    retry_at: datetime | None = None,
) -> bool:
    """Record what came of the attempt, releasing the lease; False when another node
    took the email over meanwhile (the lease ran out) and nothing was written.

    ``status``: ``sent``, ``cancelled``, ``dead``, or ``pending`` with ``retry_at``
    (a failed attempt, or a postponement: then the attempt is not counted)."""
    values: dict[str, Any] = {"lease_until": None, "status": status}
    if reason is not None:
        values["reason"] = reason[:64]
    if error is not None:
        values["last_error"] = error[:MAX_ERROR_CHARS]
    if status == "sent":
        values["sent_at"] = now
    if status == "pending":
        assert retry_at is not None
        values["next_attempt_at"] = retry_at
        if error is None:  # postponed, not failed: the attempt did not happen
            values["attempts"] = MailOutbox.attempts - 1
    changed = connection.execute(
        update(MailOutbox)
        .where(MailOutbox.id == claimed.id, MailOutbox.attempts == claimed.attempt, OPEN_MAIL)
        .values(**values)
    )
    return bool(changed.rowcount)


def queue_stats(connection: Connection) -> tuple[int, datetime | None]:
    """How many emails wait (gathering or retrying), and when the oldest was written."""
    depth, oldest = connection.execute(
        select(func.count(), func.min(MailOutbox.created_at)).where(OPEN_MAIL)
    ).one()
    return int(depth), oldest
