"""What the customer's API receives when an action is called: the one place that
decides which identity goes into the bytes.

THE RULE: a user id, email, name or attribute leaves Countersign only for a caller
whose identity was proven -- a verified widget session, or the customer's own backend
naming the user with its server API key. An unverified session (``off`` or
``report`` mode) and an anonymous one (including a claim dropped by
``on_mismatch=anonymous``) send ``"user": null``, and nothing else here copies what the
browser claimed: unverified metadata is never sent at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec

IdentityStatus = Literal["verified", "unverified", "anonymous"]


@dataclass(frozen=True, slots=True)
class VerifiedUser:
    """A user whose identity Countersign verified (or the customer's backend vouched for)."""

    user_id: str | None
    email: str | None = None
    name: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Caller:
    """Who an action is called for. Build it with :meth:`for_session` or
    :meth:`for_server`, which apply the rule; ``user`` is ``None`` unless verified."""

    status: IdentityStatus
    contact_id: str | None
    contact_verified: bool
    user: VerifiedUser | None

    @classmethod
    def for_session(
        cls, status: IdentityStatus, contact_id: str, verified_user: VerifiedUser | None
    ) -> Caller:
        """A widget session. ``verified_user`` is the session contact's identity, passed
        on only when the session is verified."""
        if status != "verified" or verified_user is None:
            return cls(status=status, contact_id=contact_id, contact_verified=False, user=None)
        return cls(
            status="verified", contact_id=contact_id, contact_verified=True, user=verified_user
        )

    @classmethod
    def for_server(cls, contact_id: str | None, user: VerifiedUser | None) -> Caller:
        """The server API: a user it names is trusted; without one there is no user."""
        if user is None:
            return cls(status="anonymous", contact_id=None, contact_verified=False, user=None)
        return cls(status="verified", contact_id=contact_id, contact_verified=True, user=user)


def request_body(action: str, call_id: str, parameters: Any, caller: Caller) -> bytes:
    """The exact JSON bytes sent (and signed)."""
    user = caller.user
    document = {
        "action": action,
        "call_id": call_id,
        "parameters": parameters,
        "identity": {"status": caller.status},
        "user": None
        if user is None
        else {
            "user_id": user.user_id,
            "email": user.email,
            "name": user.name,
            "attributes": user.attributes,
        },
        "contact": None
        if caller.contact_id is None
        else {"id": caller.contact_id, "verified": caller.contact_verified},
    }
    return msgspec.json.encode(document)
