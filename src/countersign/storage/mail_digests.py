"""Digest emails in the mail outbox: a contact's notifications of one delay period as
one email (SPEC 13's email channel). Rows and queries only; who gets one is
:mod:`countersign.notifications.mail_triggers`'s, what it says ``countersign.mail``'s.

:func:`gather` runs in the transaction that creates the notification. The first
notification of a period writes a ``digest`` row due ``email_delay`` later; the next
ones join it (one :class:`~.models.MailDigestItem` each) without moving its due time,
so a steady stream of notifications still reaches the user one delay after the first.
What is still unread is asked when the email is due (:func:`unread_items`): a
notification read or archived meanwhile leaves the digest.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..vocabulary.ids import new_id
from .models import MailDigestItem, MailOutbox, Notification

KIND: Final = "digest"


def batch_key(contact_id: str) -> str:
    return f"{KIND}:{contact_id}"


def gather(
    connection: Connection,
    *,
    app_id: str,
    contact_id: str,
    notification_id: str,
    due: datetime,
    now: datetime,
) -> str:
    """Put ``notification_id`` in the contact's digest still gathering (or a new one
    due at ``due``); the digest's id."""
    builder = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    inserted = builder(MailOutbox).values(
        id=new_id("mail", 12),
        app_id=app_id,
        kind=KIND,
        batch_key=batch_key(contact_id),
        gathering=True,
        conversation_id=None,
        contact_id=contact_id,
        operator_id=None,
        from_seq=1,
        up_to_seq=1,  # how many notifications it gathered
        status="pending",
        attempts=0,
        next_attempt_at=due,
        created_at=now,
    )
    # As for continuity (mail_outbox.gather): the partial unique index on batch_key
    # settles two nodes gathering at once; the due time stays the first one's.
    mail_id = connection.execute(
        inserted.on_conflict_do_update(
            index_elements=[MailOutbox.batch_key],
            index_where=text("gathering"),
            set_={"up_to_seq": MailOutbox.up_to_seq + 1},
        ).returning(MailOutbox.id)
    ).scalar_one()
    connection.execute(
        insert(MailDigestItem).values(mail_id=mail_id, notification_id=notification_id)
    )
    return str(mail_id)


def unread_items(connection: Connection, mail_id: str) -> list[dict[str, Any]]:
    """The digest's notifications that are neither read nor archived, oldest first."""
    rows = connection.execute(
        select(
            Notification.id,
            Notification.title,
            Notification.body,
            Notification.url,
            Notification.category,
            Notification.actions,
        )
        .join(MailDigestItem, MailDigestItem.notification_id == Notification.id)
        .where(
            MailDigestItem.mail_id == mail_id,
            Notification.read_at.is_(None),
            Notification.archived_at.is_(None),
        )
        .order_by(Notification.created_at, Notification.id)
    ).all()
    return [row._asdict() for row in rows]


def categories_of(connection: Connection, mail_id: str) -> list[str]:
    """The categories of every notification the digest gathered (read or not): what
    its List-Unsubscribe turns email off for."""
    rows = connection.execute(
        select(Notification.category)
        .join(MailDigestItem, MailDigestItem.notification_id == Notification.id)
        .where(MailDigestItem.mail_id == mail_id)
        .distinct()
        .order_by(Notification.category)
    ).scalars()
    return [str(name) for name in rows]


def digest_parties(connection: Connection, mail_id: str) -> tuple[str, str] | None:
    """(app id, contact id) of a digest email, or None when there is no such digest."""
    row = connection.execute(
        select(MailOutbox.app_id, MailOutbox.contact_id).where(
            MailOutbox.id == mail_id, MailOutbox.kind == KIND
        )
    ).one_or_none()
    return None if row is None else (str(row.app_id), str(row.contact_id))
