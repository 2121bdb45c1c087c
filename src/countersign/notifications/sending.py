"""Sending a notification to one user or to a thousand, once.

One send is one transaction: every recipient's contact, notification and stream event
are written together (or, on any error, none of them), and the stream events are
numbered and stored in two statements whatever the number of users. With an
``idempotency_key`` the send first claims the key (storage's primary key decides
between concurrent repeats); a repeat within 24 h answers the first send's document
and writes nothing; the same key with another body is a conflict."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from ..storage import contacts, notification_sends, notifications, stream_log
from ..storage.errors import Conflict
from ..storage.notifications import NotificationDraft
from ..vocabulary.stream import StreamItem
from .mail_triggers import gather_digests
from .preferences import muted_in_app
from .rules import recipients


class KeyReused(Conflict):
    code = "idempotency_key_reused"


@dataclass(frozen=True, slots=True)
class Idempotency:
    key: str
    fingerprint: str  # of the request's body: the same key with another body is refused


@dataclass(frozen=True, slots=True)
class Sent:
    document: dict[str, Any]
    created: bool  # False: a repeat of an earlier send, which created nothing now
    events: tuple[StreamItem, ...]


def send(
    connection: Connection,
    *,
    app_id: str,
    user_ids: Sequence[str],
    draft: NotificationDraft,
    now: datetime,
    idempotency: Idempotency | None = None,
    one_user: bool = False,
) -> Sent:
    """Notify each of ``user_ids`` (a user who muted the category in-app gets nothing).

    The document is the notification (``one_user``: a request naming ``user_id``) or
    ``{data, muted}`` for a list."""
    users = recipients(user_ids)
    if idempotency is not None:
        earlier = notification_sends.claim(
            connection, app_id, idempotency.key, idempotency.fingerprint, now
        )
        if earlier is not None:
            if earlier.fingerprint != idempotency.fingerprint:
                raise KeyReused("this idempotency_key was used with another request body")
            return Sent(earlier.response, False, ())
    contact_of = contacts.ensure_verified_contacts(connection, app_id, users, now)
    muted = muted_in_app(connection, app_id, list(contact_of.values()), draft.category)
    targets = [user for user in users if contact_of[user] not in muted]
    made = notifications.insert_notifications(
        connection,
        app_id=app_id,
        contact_ids=[contact_of[user] for user in targets],
        draft=draft,
        now=now,
    )
    gather_digests(
        connection,
        app_id=app_id,
        category=draft.category,
        created=[
            (contact_of[user], str(doc["id"])) for user, doc in zip(targets, made, strict=True)
        ],
        now=now,
    )
    # Only the widgets hear of a new notification: the customer's backend sent it.
    events = stream_log.append_stream_events(
        connection,
        app_id,
        [
            (contact_of[user], "notification.created", doc)
            for user, doc in zip(targets, made, strict=True)
        ],
        now,
    )
    sent = [{**doc, "user_id": user} for user, doc in zip(targets, made, strict=True)]
    skipped = [user for user in users if contact_of[user] in muted]
    document: dict[str, Any]
    if one_user:
        document = sent[0] if sent else {"id": None, "user_id": users[0], "muted": True}
    else:
        document = {"data": sent, "muted": skipped}
    if idempotency is not None:
        notification_sends.record_response(connection, app_id, idempotency.key, document)
    return Sent(document, True, tuple(events))
