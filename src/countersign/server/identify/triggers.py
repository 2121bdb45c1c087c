"""The two events the identify path raises: ``contact.identified`` and ``identity.failed``.

Messaging events are enqueued by ``storage.conversations`` and its siblings; these two come from the
server's identify route and its verification recorder, which call the helpers here
from inside their own transactions. Each first checks the app's cached subscriptions
(``AppConfig.webhook_events``), so an app without webhooks pays a set lookup.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import Connection

from ...storage import webhook_outbox
from ...storage.identities import Identified
from ...vocabulary.webhook_events import (
    CONTACT_IDENTIFIED,
    IDENTITY_FAILED,
    contact_fields,
    identity_failed_data,
)

if TYPE_CHECKING:
    from ..app_directory import AppConfig
    from .entry import PendingEntry

log = logging.getLogger("countersign.webhooks")

#: Verification-log codes that are not failures (see ``server.identify.pending_entry``).
#: A verified-only app's refusal of a visitor that claimed nothing is not one either.
_NOT_FAILURES: Final = frozenset({"ok", "none", "identity_required"})


def contact_identified(
    connection: Connection,
    subscribed: frozenset[str],
    app_id: str,
    status: str,
    method: str,
    identified: Identified,
    now: datetime,
) -> Identified:
    """Enqueue ``contact.identified`` when the browser claimed an identity (verified or
    not) and the app listens for it; returns ``identified`` so identify can wrap its
    own call in this one. An anonymous visitor, or a claim that was dropped, raises
    nothing here (a failed claim is ``identity.failed``)."""
    if CONTACT_IDENTIFIED not in subscribed or status not in ("verified", "unverified"):
        return identified
    contact = identified.contact
    verified = status == "verified" and contact.verified
    data = contact_fields(
        contact.id, verified=verified, claimed=True, user_id=contact.user_id, email=contact.email
    )
    data["identity"]["method"] = method
    data["visitor_id"] = identified.visitor_id
    webhook_outbox.enqueue(connection, app_id, CONTACT_IDENTIFIED, data, now)
    return identified


@dataclass(frozen=True, slots=True)
class FailedIdentity:
    app_id: str
    data: dict[str, Any]


async def identity_failures(
    app_config: Callable[[str], Awaitable[AppConfig | None]],
    entries: Sequence[PendingEntry],
) -> list[FailedIdentity]:
    """The ``identity.failed`` events of a diagnosed batch of verification-log entries,
    for apps that listen. Only the diagnosis travels: never the claimed identifier,
    the other identifier, the client address or the presented hash."""
    failures = []
    for entry in entries:
        if entry.code in _NOT_FAILURES:
            continue
        try:
            config = await app_config(entry.app_id)
        except Exception:  # e.g. unreadable secrets: the log rows must still be written
            log.warning("identity.failed not sent for app %s: app unavailable", entry.app_id)
            continue
        if config is None or IDENTITY_FAILED not in config.webhook_events:
            continue
        data = identity_failed_data(
            outcome=entry.outcome,
            method=entry.method,
            code=entry.code,
            identity_mode=config.record.identity_mode,
            on_mismatch=config.record.on_mismatch,
            origin=entry.origin,
            at=entry.at,
        )
        failures.append(FailedIdentity(entry.app_id, data))
    return failures


def enqueue_identity_failures(
    connection: Connection, failures: Sequence[FailedIdentity], now: datetime
) -> None:
    """Write the failures to the outbox in the verification log's own transaction."""
    for failure in failures:
        webhook_outbox.enqueue(connection, failure.app_id, IDENTITY_FAILED, failure.data, now)
