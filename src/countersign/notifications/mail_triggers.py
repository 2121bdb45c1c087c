"""What a new notification asks of the mail outbox (SPEC 13's email channel), in the
transaction that creates it.

A notification for a user whose effective preference for its category has ``email``
on, and who has an address Countersign may mail (``mail_outbox.mail_address``'s rule,
SPEC 12: a verified email, never a claim or metadata), joins that user's digest due
``email_delay`` after the first notification of the period. Whether it is sent after
all (read or archived meanwhile, email turned off) is decided when it is due, by
``countersign.mail``: this package writes the outbox row and knows nothing of mail.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection

from ..storage import mail_digests, mail_outbox
from .preferences import emailed


def gather_digests(
    connection: Connection,
    *,
    app_id: str,
    category: str,
    created: Sequence[tuple[str, str]],  # (contact id, notification id)
    now: datetime,
) -> int:
    """Add each created notification to its user's digest where email is on for it;
    how many were added."""
    if not created:
        return 0
    wanted = emailed(connection, app_id, [contact for contact, _ in created], category)
    if not wanted:
        return 0
    addresses = mail_outbox.mail_addresses(connection, sorted(wanted))
    if not addresses:
        return 0
    due = now + timedelta(seconds=mail_outbox.email_delay(connection, app_id))
    added = 0
    for contact_id, notification_id in created:
        if contact_id in addresses:
            mail_digests.gather(
                connection, app_id=app_id, contact_id=contact_id,
                notification_id=notification_id, due=due, now=now,
            )  # fmt: skip
            added += 1
    return added
