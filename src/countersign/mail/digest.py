"""A digest email when its time comes: the user's notifications of one delay period
that are still unread, as one email (SPEC 13's email channel), or nothing.

The rules, applied at send time whatever was true when the notifications came:

- only to :func:`~countersign.storage.mail_outbox.mail_address` (SPEC 12: a verified
  email; never a claim, never metadata); none: cancelled ``no_verified_address``;
- only notifications neither read nor archived (in the widget, one by one or all at
  once) and still in a category the user gets email for; none left: cancelled
  (``read_in_widget``, or ``email_off`` when the user turned email off meanwhile);
- links only to http(s) URLs (the actions were checked when sent; this is the mail's
  own guard), and the HTML escapes everything the backend wrote.

``List-Unsubscribe`` is ``unsub+<token>@``, the token the reply token's MAC over
(app, this email's id, contact): a mail there from the user's address turns email off
for the digest's categories (``inbound``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection

from ..notifications.preferences import emailed
from ..settings import Settings
from ..storage import mail_digests, mail_outbox, mail_queue
from .compose import Envelope, build
from .decisions import Send, Skip, message_id
from .tokens import ReplyTokens


def _link(url: object) -> str | None:
    if not isinstance(url, str):
        return None
    parts = urlsplit(url)
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def _entry(item: dict[str, Any]) -> dict[str, Any]:
    actions = [
        {"label": str(action.get("label", "")), "url": _link(action.get("url"))}
        for action in item["actions"] or []
        if isinstance(action, dict)
    ]
    return {
        "title": item["title"],
        "body": item["body"],
        "url": _link(item["url"]),
        "actions": [action for action in actions if action["url"] is not None],
    }


def subject(count: int, titles: list[str], app_name: str) -> str:
    if count == 1:
        return f"{titles[0]} ({app_name})"
    return f"{count} new notifications from {app_name}"


def for_digest(
    connection: Connection,
    claimed: mail_queue.ClaimedMail,
    settings: Settings,
    tokens: ReplyTokens,
    now: datetime,
) -> Send | Skip:
    address = mail_outbox.mail_address(connection, claimed.contact_id)
    if address is None:
        return Skip("cancelled", "no_verified_address")
    unread = mail_digests.unread_items(connection, claimed.id)
    if not unread:
        return Skip("cancelled", "read_in_widget")
    categories = sorted({str(item["category"]) for item in unread})
    wanted = {
        name
        for name in categories
        if emailed(connection, claimed.app_id, [claimed.contact_id], name)
    }
    items = [item for item in unread if item["category"] in wanted]
    if not items:
        return Skip("cancelled", "email_off")
    domain = settings.inbound_domain
    token = tokens.make(claimed.app_id, claimed.id, claimed.contact_id)
    envelope = Envelope(
        to=address,
        from_name=claimed.app_name,
        mail_from=settings.mail_from,
        subject=subject(len(items), [str(item["title"]) for item in items], claimed.app_name),
        message_id=message_id(claimed, settings),
        unsubscribe=None if domain is None else f"unsub+{token}@{domain}",
        date=now,
    )
    context = {
        "notifications": [_entry(item) for item in items],
        "app_name": claimed.app_name,
        "count": len(items),
    }
    return Send(build("digest", envelope, context), address)
