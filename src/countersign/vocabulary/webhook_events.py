"""What a webhook delivery says: the event types and the payload shapes.

The rule every builder here keeps: a user id or email reaches the customer's systems
only when Countersign verified it. A contact's ``user_id`` and ``email`` are filled
only for a verified contact; for an unverified claim (``off`` or ``report`` mode) or
an anonymous visitor they are ``null``, and nothing here copies the claim anywhere
else (unverified metadata, which is whatever the browser sent, is left out too).

Pure functions, no I/O: storage calls them inside the transaction of the change.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Final, Literal

from ..core import HINTS, token_fix

MESSAGE_CREATED: Final = "message.created"
CONVERSATION_CREATED: Final = "conversation.created"
CONTACT_IDENTIFIED: Final = "contact.identified"
IDENTITY_FAILED: Final = "identity.failed"
NOTIFICATION_READ: Final = "notification.read"
EVENT_TRACKED: Final = "event.tracked"
CONVERSATION_STATUS_CHANGED: Final = "conversation.status_changed"
CONVERSATION_ASSIGNED: Final = "conversation.assigned"
NOTE_CREATED: Final = "note.created"
# Email (SPEC 12): an email sent or given up on, a mail taken into a conversation.
EMAIL_SENT: Final = "email.sent"
EMAIL_FAILED: Final = "email.failed"
EMAIL_RECEIVED: Final = "email.received"

#: The stream event (not a webhook) of a conversation's status or assignee changing.
CONVERSATION_UPDATED: Final = "conversation.updated"

#: Every event type an endpoint may subscribe to, in the order the docs list them.
EVENT_TYPES: Final = (
    MESSAGE_CREATED,
    CONVERSATION_CREATED,
    CONTACT_IDENTIFIED,
    IDENTITY_FAILED,
    NOTIFICATION_READ,
    EVENT_TRACKED,
    CONVERSATION_STATUS_CHANGED,
    CONVERSATION_ASSIGNED,
    NOTE_CREATED,
    EMAIL_SENT,
    EMAIL_FAILED,
    EMAIL_RECEIVED,
)

IdentityStatus = Literal["verified", "unverified", "anonymous"]


def contact_fields(
    contact_id: str,
    *,
    verified: bool,
    claimed: bool,
    user_id: str | None,
    email: str | None,
) -> dict[str, Any]:
    """The ``contact`` and ``identity`` members of a payload about a contact.

    ``claimed``: the browser named an identity (an unverified contact row keeps the
    claim, so the status can say "unverified" rather than "anonymous"). The claim
    itself is dropped here unless ``verified``.
    """
    status: IdentityStatus = "verified" if verified else "unverified" if claimed else "anonymous"
    return {
        "contact": {
            "id": contact_id,
            "verified": verified,
            "user_id": user_id if verified else None,
            "email": email if verified else None,
        },
        "identity": {"status": status},
    }


def failure_fix(code: str) -> str:
    """The one-line fix of a failure code: a token's (SPEC 15) or a hash's (SPEC 2)."""
    return token_fix(code) or HINTS.get(code, "")  # type: ignore[call-overload]


def identity_failed_data(
    *,
    outcome: str,
    method: str,
    code: str,
    identity_mode: str,
    on_mismatch: str,
    origin: str | None,
    at: datetime,
) -> dict[str, Any]:
    """``identity.failed``: why a claim failed, never what was claimed (nor the hash).

    ``identity.status`` is what the browser got: ``unverified`` in report mode (the
    claim was accepted unverified), else ``anonymous`` (dropped or refused).
    """
    status: IdentityStatus = "unverified" if outcome == "unverified" else "anonymous"
    return {
        "identity": {
            "status": status,
            "outcome": outcome,
            "method": method,
            "mode": identity_mode,
            "on_mismatch": on_mismatch,
        },
        "diagnosis": {"code": code, "fix": failure_fix(code)},
        "origin": origin,
        "attempted_at": at.isoformat(),
    }


def envelope_bytes(
    event_id: str, event_type: str, created_at: datetime, app_id: str, data: dict[str, Any]
) -> bytes:
    """The body of every delivery of an event. The same bytes on every retry, so the
    signature a receiver checks is over exactly what arrives."""
    document = {
        "id": event_id,
        "type": event_type,
        "created_at": created_at.isoformat(),
        "app_id": app_id,
        "data": data,
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
