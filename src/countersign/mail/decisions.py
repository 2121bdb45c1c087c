"""What the worker makes of a claimed email: :class:`Send` it, or :class:`Skip` it
(cancelled, or a later look), shared by continuity (``plan``) and digests (``digest``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import parseaddr

from ..settings import Settings
from ..storage import mail_queue


@dataclass(frozen=True, slots=True)
class Send:
    message: EmailMessage
    to: str


@dataclass(frozen=True, slots=True)
class Skip:
    status: str  # cancelled | pending (look again at retry_at)
    reason: str
    retry_at: datetime | None = None


def mail_domain(settings: Settings) -> str:
    return settings.inbound_domain or (
        parseaddr(settings.mail_from)[1].rpartition("@")[2] or "localhost"
    )


def message_id(claimed: mail_queue.ClaimedMail, settings: Settings) -> str:
    """The email's Message-ID: the one of its first attempt, so a retry is the same."""
    return claimed.message_id or f"{claimed.id}@{mail_domain(settings)}"
