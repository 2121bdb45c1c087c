"""What a new message asks of the mail outbox (SPEC 12), in the message's transaction.

The team's message (operator or bot; never a note) starts or extends the contact's
email of this quiet period, due ``email_delay`` after it, when the contact has an
address Countersign may mail. A contact's message does the same for the operators who
hear of it: everyone with mail on for a new conversation, else its assignee. Whether
each email is sent after all (read meanwhile, a widget or dashboard open) is decided
when it is due, by ``countersign.mail``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection

from ..storage import mail_outbox, mail_queue

TEAM_AUTHORS = ("operator", "bot")


def gather_mail(
    connection: Connection,
    *,
    app_id: str,
    conversation_id: str,
    contact_id: str,
    author_type: str,
    seq: int,
    now: datetime,
) -> None:
    if author_type in TEAM_AUTHORS:
        if mail_outbox.mail_address(connection, contact_id) is None:
            return
        recipients: list[str | None] = [None]
        kind = "contact"
    elif author_type == "contact":
        assignee = mail_queue.conversation_assignee(connection, conversation_id)
        if assignee is None and seq != 1:
            return  # neither a new conversation nor anyone's to answer
        recipients = list(mail_outbox.operators_to_notify(connection, assignee))
        kind = "operator"
    else:
        return  # a note is never mailed
    if not recipients:
        return
    due = now + timedelta(seconds=mail_outbox.email_delay(connection, app_id))
    for operator_id in recipients:
        mail_outbox.gather(
            connection, app_id=app_id, kind=kind, conversation_id=conversation_id,
            contact_id=contact_id, seq=seq, due=due, now=now, operator_id=operator_id,
        )  # fmt: skip
