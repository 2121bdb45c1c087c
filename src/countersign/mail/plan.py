"""What a claimed email becomes when its time comes: an email to send, a later look,
or nothing (with the reason the mail log shows).

The rules, applied here at send time whatever was true when the first message came:

- to a contact, only :func:`~countersign.storage.mail_outbox.mail_address` (a
  verified email, or an email contact's own address; never a claim, never metadata);
- only the team's messages (``operator``, ``bot``; a note never) the contact has not
  read in the widget; all of them read: cancelled;
- while a widget of theirs is open on any node, the email waits another
  ``email_delay`` (they may yet read it there);
- to an operator, only while their switch is on and no dashboard of theirs is open;
- a digest of notifications: :mod:`.digest`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Connection

from ..settings import Settings
from ..storage import mail_outbox, mail_queue, reads
from .addresses import reply_address
from .compose import Envelope, build
from .decisions import Send, Skip, message_id
from .digest import for_digest
from .tokens import ReplyTokens

TEAM_AUTHORS = ("operator", "bot")
Present = Callable[[Connection, str, str], bool]  # (connection, kind, subject id)


def plan(
    connection: Connection,
    claimed: mail_queue.ClaimedMail,
    settings: Settings,
    tokens: ReplyTokens,
    present: Present,
    now: datetime,
) -> Send | Skip:
    if claimed.kind == "operator":
        return _for_operator(connection, claimed, settings, present, now)
    if claimed.kind == "digest":
        return for_digest(connection, claimed, settings, tokens, now)
    return _for_contact(connection, claimed, settings, tokens, present, now)


def _authored(messages: list[dict[str, object]], app_name: str) -> list[dict[str, object]]:
    return [
        {"author": message["author_name"] or app_name, "body": message["body"]}
        for message in messages
    ]


def _for_contact(
    connection: Connection,
    claimed: mail_queue.ClaimedMail,
    settings: Settings,
    tokens: ReplyTokens,
    present: Present,
    now: datetime,
) -> Send | Skip:
    assert claimed.conversation_id is not None  # continuity is a conversation's
    address = mail_outbox.mail_address(connection, claimed.contact_id)
    if address is None:
        return Skip("cancelled", "no_verified_address")
    read = reads.contact_read_seq(connection, claimed.conversation_id) or 0
    after = max(claimed.from_seq - 1, read)
    messages = mail_queue.messages_between(
        connection, claimed.conversation_id, after, claimed.up_to_seq, TEAM_AUTHORS
    )
    if not messages:
        return Skip("cancelled", "read_in_widget")
    if present(connection, "contact", claimed.contact_id):
        return Skip("pending", "widget_open", now + timedelta(seconds=claimed.email_delay))
    token = tokens.make(claimed.app_id, claimed.conversation_id, claimed.contact_id)
    domain = settings.inbound_domain
    authors = sorted({str(m["author_name"]) for m in messages if m["author_name"]})
    subject = (
        f"{authors[0]} replied to you on {claimed.app_name}"
        if len(authors) == 1
        else f"New messages from {claimed.app_name}"
    )
    envelope = Envelope(
        to=address,
        from_name=authors[0] if len(authors) == 1 else claimed.app_name,
        mail_from=settings.mail_from,
        subject=subject,
        message_id=message_id(claimed, settings),
        thread=mail_outbox.thread_ids(connection, claimed.conversation_id),
        reply_to=None if domain is None else reply_address(token, domain),
        unsubscribe=None if domain is None else f"unsub+{token}@{domain}",
        date=now,
    )
    context = {
        "messages": _authored(messages, claimed.app_name),
        "app_name": claimed.app_name,
        "can_reply": domain is not None,
    }
    return Send(build("contact", envelope, context), address)


def _for_operator(
    connection: Connection,
    claimed: mail_queue.ClaimedMail,
    settings: Settings,
    present: Present,
    now: datetime,
) -> Send | Skip:
    assert claimed.operator_id is not None
    assert claimed.conversation_id is not None
    operator = mail_queue.operator_of(connection, claimed.operator_id)
    if operator is None:
        return Skip("cancelled", "operator_mail_off")
    if present(connection, "operator", claimed.operator_id):
        return Skip("cancelled", "dashboard_open")
    messages = mail_queue.messages_between(
        connection, claimed.conversation_id, claimed.from_seq - 1, claimed.up_to_seq, ("contact",)
    )
    if not messages:
        return Skip("cancelled", "nothing_to_say")
    contact = mail_queue.contact_of(connection, claimed.contact_id)
    who = str(
        contact["name"]
        or ((contact["verified"] or contact["via_email"]) and contact["email"])
        or "A visitor"
    )
    badge = "" if contact["verified"] else " (unverified)"
    new = claimed.from_seq == 1
    headline = f"New conversation from {who}{badge}" if new else f"{who}{badge} replied"
    envelope = Envelope(
        to=str(operator["email"]),
        from_name=claimed.app_name,
        mail_from=settings.mail_from,
        subject=f"[{claimed.app_name}] {headline}",
        message_id=message_id(claimed, settings),
        date=now,
    )
    context = {
        "messages": [{"author": who, "body": m["body"]} for m in messages],
        "app_name": claimed.app_name,
        "headline": headline,
        "conversation_id": claimed.conversation_id,
    }
    return Send(build("operator", envelope, context), str(operator["email"]))
