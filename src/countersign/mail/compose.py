"""An email from the templates shipped in this package: text and HTML, one message.

The HTML is rendered with autoescaping on, so a message body, an author's or the
app's name (all typed by someone) is text in the page, never markup. Headers take
user text only through :func:`.addresses.header_text`. Threading: ``Message-ID`` is
the outbox row's, fixed at its first attempt; ``In-Reply-To`` and ``References``
name the conversation's earlier emails, sent and received, so a mail client keeps
them in one thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from functools import cache
from typing import Any, Final

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from .addresses import header_text, recipient, sender

MAX_REFERENCES: Final = 20


@cache
def _templates() -> Environment:
    return Environment(
        loader=PackageLoader("countersign.mail", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


@dataclass(frozen=True, slots=True)
class Envelope:
    to: str
    from_name: str
    mail_from: str
    subject: str
    message_id: str  # without the angle brackets
    thread: Sequence[str] = ()  # earlier Message-IDs, oldest first
    reply_to: str | None = None
    unsubscribe: str | None = None  # a mailto: address
    date: datetime | None = None


def _bracketed(message_id: str) -> str:
    return message_id if message_id.startswith("<") else f"<{message_id}>"


def build(template: str, envelope: Envelope, context: dict[str, Any]) -> EmailMessage:
    """The email ``template`` (``contact`` or ``operator``) renders for ``context``."""
    values = {**context, "subject": header_text(envelope.subject)}
    environment = _templates()
    text = environment.get_template(f"{template}.txt").render(values)
    html = environment.get_template(f"{template}.html").render(values)
    message = EmailMessage()
    message["From"] = sender(envelope.from_name, envelope.mail_from)
    message["To"] = recipient(envelope.to)
    message["Subject"] = header_text(envelope.subject)
    message["Message-ID"] = _bracketed(envelope.message_id)
    if envelope.date is not None:
        message["Date"] = format_datetime(envelope.date)
    thread = [_bracketed(mid) for mid in envelope.thread][-MAX_REFERENCES:]
    if thread:
        message["In-Reply-To"] = thread[-1]
        message["References"] = " ".join(thread)
    if envelope.reply_to is not None:
        message["Reply-To"] = envelope.reply_to
    if envelope.unsubscribe is not None:
        message["List-Unsubscribe"] = f"<mailto:{envelope.unsubscribe}?subject=unsubscribe>"
    # Ours is an automatic message: auto-responders must not answer it (RFC 3834).
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message
