"""The mail outbox: emails gathered over a quiet period, and the mail log.

:func:`gather` is called in the transaction of the message that causes the email: the
first message of a quiet period writes a ``pending`` row due after the app's
``email_delay``; each later one joins it (its seq range grows and the due time moves
on), so a burst of messages becomes one email. Sending is the worker's
(``countersign.mail.delivery``) through ``mail_queue``.

Who may be mailed is the fact :func:`mail_address` reads (SPEC 12's rule, applied
again by the worker before each send): a verified contact's ``email`` column holds
only proven emails (identify writes the signed identifier or a verified token's
``email`` there, ``PUT /v1/users`` the rest; an unproven claim lands on the browser's
own unverified contact or in its metadata), and an email contact (``via_email``) is
the address that wrote to the support address.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, insert, select, text, true
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..vocabulary.ids import new_id
from .apps import get_app
from .models import App, Contact, MailInbound, MailOutbox, Operator

KINDS: Final = ("contact", "operator", "digest")
STATUSES: Final = ("pending", "sent", "dead", "cancelled")
MAX_ADDRESS_CHARS: Final = 320


def mail_address(connection: Connection, contact_id: str) -> str | None:
    """The contact's email if Countersign may send to it, else ``None``."""
    return mail_addresses(connection, [contact_id]).get(contact_id)


def mail_addresses(connection: Connection, contact_ids: Sequence[str]) -> dict[str, str]:
    """:func:`mail_address` for many contacts in one query: those Countersign may mail,
    each with its address (a send to a thousand users asks once)."""
    if not contact_ids:
        return {}
    rows = connection.execute(
        select(Contact.id, Contact.email, Contact.verified, Contact.via_email).where(
            Contact.id.in_(list(contact_ids)),
            Contact.email.is_not(None),
            Contact.mail_opt_out.is_(False),
        )
    )
    return {str(row.id): str(row.email) for row in rows if row.verified or row.via_email}


def email_delay(connection: Connection, app_id: str) -> int:
    return int(connection.execute(select(App.email_delay).where(App.id == app_id)).scalar_one())


def gather(
    connection: Connection,
    *,
    app_id: str,
    kind: str,
    conversation_id: str,
    contact_id: str,
    seq: int,
    due: datetime,
    now: datetime,
    operator_id: str | None = None,
) -> None:
    """Start an email for message ``seq``, or add it to the one still gathering."""
    key = f"{kind}:{conversation_id}:{operator_id or ''}"
    builder = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    inserted = builder(MailOutbox).values(
        id=new_id("mail", 12),
        app_id=app_id,
        kind=kind,
        batch_key=key,
        gathering=True,
        conversation_id=conversation_id,
        contact_id=contact_id,
        operator_id=operator_id,
        from_seq=seq,
        up_to_seq=seq,
        status="pending",
        attempts=0,
        next_attempt_at=due,
        created_at=now,
    )
    # The partial unique index on batch_key (while gathering) settles two nodes
    # gathering at once: one inserts, the other joins its row.
    connection.execute(
        inserted.on_conflict_do_update(
            index_elements=[MailOutbox.batch_key],
            index_where=text("gathering"),
            set_={"up_to_seq": inserted.excluded.up_to_seq, "next_attempt_at": due},
        )
    )


def operators_to_notify(connection: Connection, assignee_id: str | None) -> list[str]:
    """Who hears of a contact's message by email: the assignee, or (no assignee: a
    new conversation) every active operator; only those who left it switched on."""
    query = select(Operator.id).where(
        Operator.deactivated_at.is_(None), Operator.email_notifications == true()
    )
    if assignee_id is not None:
        query = query.where(Operator.id == assignee_id)
    return list(connection.execute(query.order_by(Operator.id)).scalars())


# The mail log --------------------------------------------------------------------------


def record_inbound(
    connection: Connection,
    *,
    channel: str,
    outcome: str,
    reason: str,
    now: datetime,
    app_id: str | None = None,
    from_address: str | None = None,
    message_id: str | None = None,
    conversation_id: str | None = None,
) -> None:
    """A line of the inbound log. Only the envelope facts: never the body."""
    connection.execute(
        insert(MailInbound).values(
            app_id=app_id,
            at=now,
            channel=channel,
            outcome=outcome,
            reason=reason[:64],
            from_address=None if from_address is None else from_address[:MAX_ADDRESS_CHARS],
            message_id=None if message_id is None else message_id[:255],
            conversation_id=conversation_id,
        )
    )


def mail_log(connection: Connection, app_id: str, limit: int = 50) -> list[dict[str, Any]]:
    """The app's latest mail, out and in, newest first."""
    get_app(connection, app_id)
    limit = max(1, min(limit, 500))
    out = connection.execute(
        select(MailOutbox.__table__)
        .where(MailOutbox.app_id == app_id)
        .order_by(MailOutbox.created_at.desc())
        .limit(limit)
    )
    entries: list[dict[str, Any]] = [
        {
            "direction": "out",
            "id": row.id,
            "kind": row.kind,
            "at": (row.sent_at or row.created_at).isoformat(),
            "status": row.status,
            "reason": row.reason,
            "to": row.to_address,
            "subject": row.subject,
            "conversation_id": row.conversation_id,
            # A digest names no conversation: how many notifications it gathered.
            **({"notifications": row.up_to_seq} if row.kind == "digest" else {}),
            "attempts": row.attempts,
            "last_error": row.last_error,
        }
        for row in out
    ]
    inbound = connection.execute(
        select(MailInbound.__table__)
        .where(MailInbound.app_id == app_id)
        .order_by(MailInbound.id.desc())
        .limit(limit)
    )
    entries.extend(
        {
            "direction": "in",
            "id": str(row.id),
            "at": row.at.isoformat(),
            "status": row.outcome,
            "reason": row.reason,
            "from": row.from_address,
            "conversation_id": row.conversation_id,
        }
        for row in inbound
    )
    entries.sort(key=lambda entry: str(entry["at"]), reverse=True)
    return entries[:limit]


def thread_ids(connection: Connection, conversation_id: str) -> list[str]:
    """The Message-IDs of the conversation's emails so far (sent and received), oldest
    first: what ``In-Reply-To`` and ``References`` name."""
    sent = connection.execute(
        select(MailOutbox.message_id, MailOutbox.sent_at).where(
            MailOutbox.conversation_id == conversation_id,
            MailOutbox.status == "sent",
            MailOutbox.kind == "contact",
        )
    ).all()
    received = connection.execute(
        select(MailInbound.message_id, MailInbound.at).where(
            MailInbound.conversation_id == conversation_id,
            MailInbound.outcome == "accepted",
            MailInbound.message_id.is_not(None),
        )
    ).all()
    both = sorted((at, mid) for mid, at in [*sent, *received] if mid and at)
    return [mid for _, mid in both]


def conversation_of_message_id(
    connection: Connection, app_id: str, message_ids: list[str]
) -> str | None:
    """The conversation one of ``message_ids`` belongs to (an email we sent or took in)."""
    if not message_ids:
        return None
    found = connection.execute(
        select(MailOutbox.conversation_id)
        .where(
            MailOutbox.app_id == app_id,
            MailOutbox.message_id.in_(message_ids),
            MailOutbox.conversation_id.is_not(None),  # a digest is no conversation's
        )
        .limit(1)
    ).scalar_one_or_none()
    if found is None:
        found = connection.execute(
            select(MailInbound.conversation_id)
            .where(
                MailInbound.app_id == app_id,
                MailInbound.message_id.in_(message_ids),
                MailInbound.conversation_id.is_not(None),
            )
            .limit(1)
        ).scalar_one_or_none()
    return None if found is None else str(found)
