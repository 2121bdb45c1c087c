"""What an unsubscribe mail that passed every check (``inbound.py``) changes.

- ``unsub+<token>@`` for a conversation's email: the contact gets no more email.
- For a digest of notifications (the token names the email, not a conversation):
  email off for the categories that digest carried, the user's other email untouched.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from ..notifications import preferences, set_preferences
from ..storage import contacts, mail_digests
from ..vocabulary.stream import StreamItem


def unsubscribe(
    connection: Connection, app_id: str, contact_id: str, digest_mail_id: str | None,
    now: datetime,
) -> tuple[StreamItem, ...]:  # fmt: skip
    """Take the contact off the email ``digest_mail_id`` names (``None``: all email), in
    the caller's transaction; the stream events a preference change announces."""
    if digest_mail_id is None:
        contacts.set_mail_opt_out(connection, contact_id)
        return ()
    return _digest_categories_off(connection, app_id, contact_id, digest_mail_id, now)


def _digest_categories_off(
    connection: Connection, app_id: str, contact_id: str, mail_id: str, now: datetime
) -> tuple[StreamItem, ...]:
    """A digest's List-Unsubscribe: email off for the categories that digest carried."""
    known = preferences(connection, app_id, contact_id)["categories"]
    off = {
        name: (None, False)
        for name in mail_digests.categories_of(connection, mail_id)
        if name in known
    }
    if not off:
        return ()
    _, event = set_preferences(connection, app_id, contact_id, off, now)
    return (event,)
