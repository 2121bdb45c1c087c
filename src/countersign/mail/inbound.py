"""A mail that arrived (SMTP or HTTP): into a conversation, ignored, or refused.

- ``reply+<token>@``: the token must verify for its conversation (``tokens.py``) and
  ``From`` must be the contact's own address (their verified email, or an email
  contact's); then the reply, without its quoted history, is the contact's message.
- ``unsub+<token>@``: the same checks; the contact gets no more email. For a digest
  of notifications (the token names the email, not a conversation): email off for the
  digest's categories, the user's other email untouched (``unsubscribe.py``).
- ``support+<app_id>@``: a new conversation of the sender's email contact (never
  verified, never a verified contact's), or the next message of one, found by
  ``In-Reply-To``/``References`` among that same contact's conversations.

A mail that becomes a message brings its files (``parts.py``: judged as uploads, with
the original mail as a download), written in the same transaction as the message.

A bounce or an automatic reply (null sender, ``MAILER-DAEMON``, ``Auto-Submitted``,
``multipart/report``) is ignored: answering it could start a loop. Every outcome is a
line of the inbound log with its reason; a refused mail's body is stored nowhere.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.utils import parseaddr
from typing import Final, Literal

from sqlalchemy import Connection

from ..messaging import post_message, start_conversation
from ..settings import Settings
from ..storage import contacts, conversations, mail_digests, mail_outbox, webhook_outbox
from ..storage.apps import AppNotFound, get_app
from ..storage.conversations import Draft, conversation_owner, conversation_parties
from ..vocabulary.stream import StreamItem
from ..vocabulary.webhook_events import EMAIL_RECEIVED
from . import parts
from .addresses import header_text, our_recipient, plain_address
from .parts import MailFiles
from .quotes import MAX_REPLY_CHARS, html_text, strip_reply
from .tokens import ReplyTokens
from .unsubscribe import unsubscribe

Channel = Literal["smtp", "http"]
Status = Literal["accepted", "ignored", "refused"]

_MESSAGE_IDS: Final = re.compile(r"<([^<>\s]{1,250})>")
_UNSAFE: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_ROBOTS: Final = ("mailer-daemon", "postmaster", "noreply", "no-reply")


@dataclass(frozen=True, slots=True)
class Inbound:
    raw: bytes
    channel: Channel
    envelope_from: str | None = None  # None over HTTP; "" is the null sender (a bounce)
    recipients: tuple[str, ...] = ()
    app_id: str | None = None  # the app whose inbound key brought it (HTTP)


@dataclass(frozen=True, slots=True)
class Outcome:
    status: Status
    reason: str
    conversation_id: str | None = None
    events: tuple[StreamItem, ...] = field(default=())
    app_id: str | None = None


def _parse(raw: bytes) -> EmailMessage | None:
    try:
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
    except Exception:
        return None
    return parsed if isinstance(parsed, EmailMessage) else None


def _header(message: Message, name: str) -> str:
    """A header as one safe line of text. A value the parser refuses (an encoded word
    that decodes to CR LF, to add a line) is decoded by hand, its CR LF made spaces."""
    with contextlib.suppress(Exception):
        return header_text(str(message.get(name) or ""), 2000)
    for key, value in message.raw_items():
        if key.lower() == name.lower():
            try:
                return header_text(str(make_header(decode_header(str(value)))), 2000)
            except Exception:
                return header_text(str(value), 2000)
    return ""


def _automatic(message: EmailMessage, inbound: Inbound, sender: str | None) -> str | None:
    if inbound.envelope_from is not None and inbound.envelope_from.strip("<> ") == "":
        return "bounce"
    local = (sender or "").partition("@")[0]
    if local in _ROBOTS:
        return "bounce"
    if message.get_content_type() == "multipart/report":
        return "bounce"
    auto = _header(message, "Auto-Submitted").lower()
    if auto and auto != "no":
        return "auto_reply"
    if _header(message, "Precedence").lower() in ("bulk", "junk", "auto_reply", "list"):
        return "auto_reply"
    if _header(message, "X-Autoreply") or _header(message, "X-Autorespond"):
        return "auto_reply"
    return None


def _part_text(part: Message) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
        if isinstance(content, str):
            return content
    except (LookupError, UnicodeError, ValueError, AssertionError, KeyError):
        pass  # an unknown or lying charset: read the bytes as UTF-8, replacing the rest
    payload = part.get_payload(decode=True)
    return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""


def reply_text(message: EmailMessage) -> str:
    """What the sender wrote: the plain part (else the HTML's text), history stripped."""
    try:
        plain = message.get_body(preferencelist=("plain",))
        html = None if plain is not None else message.get_body(preferencelist=("html",))
    except Exception:
        plain, html = None, None
    if plain is not None:
        text = _part_text(plain)
    elif html is not None:
        text = html_text(_part_text(html))
    else:
        text = ""
    return _UNSAFE.sub("", strip_reply(text))[:MAX_REPLY_CHARS]


def _message_id(message: EmailMessage) -> str | None:
    found = _MESSAGE_IDS.search(_header(message, "Message-ID"))
    return None if found is None else found.group(1)


def _client_id(message_id: str | None, raw: bytes) -> str:
    # The same mail delivered twice (a retried SMTP session, a provider's retry) is one
    # message: posted with the same client_id, the second post returns the first.
    digest = hashlib.sha256((message_id or "").encode() or raw).hexdigest()
    return f"mail:{digest[:40]}"


@dataclass(frozen=True, slots=True)
class Arrived:
    """A received mail parsed once (off the event loop), for the checks and the post."""

    inbound: Inbound
    message: EmailMessage | None  # None: not a mail at all
    sender: str | None


def arrive(inbound: Inbound) -> Arrived:
    message = _parse(inbound.raw)
    sender = None if message is None else plain_address(_header(message, "From"))
    return Arrived(inbound, message, sender)


@dataclass(frozen=True, slots=True)
class _Passed:
    """A mail through every check, before anything is written for it."""

    kind: Literal["reply", "unsubscribe", "unsubscribe_digest", "support"]
    app_id: str
    conversation_id: str | None = None  # the token's (a reply), or a digest's mail id
    contact_id: str | None = None


class InboundMail:
    """Takes received mail in, in the caller's transaction."""

    def __init__(self, settings: Settings, tokens: ReplyTokens) -> None:
        self._settings = settings
        self._tokens = tokens

    def destination(self, connection: Connection, arrived: Arrived) -> str | None:
        """The app whose message this mail would become, if it passes every check
        (reads only): its files are worth judging then, and only then."""
        if arrived.message is None:
            return None
        passed = self._check(connection, arrived, arrived.message)
        if isinstance(passed, Outcome) or passed.kind == "unsubscribe":
            return None
        return passed.app_id

    def receive(
        self, connection: Connection, arrived: Arrived, now: datetime,
        files: MailFiles | None = None,
    ) -> Outcome:  # fmt: skip
        """Check the mail and take it in; ``files``: its parts judged (``parts.py``),
        stored only if it becomes a message."""
        message = arrived.message
        if message is None:
            return self._log(connection, arrived, Outcome("refused", "malformed"), now)
        passed = self._check(connection, arrived, message)
        outcome = (
            passed
            if isinstance(passed, Outcome)
            else self._act(connection, arrived, message, passed, now, files or MailFiles())
        )
        return self._log(connection, arrived, outcome, now)

    def _log(
        self, connection: Connection, arrived: Arrived, outcome: Outcome, now: datetime
    ) -> Outcome:
        inbound, message = arrived.inbound, arrived.message
        app = outcome.app_id or inbound.app_id
        mail_outbox.record_inbound(
            connection, channel=inbound.channel, outcome=outcome.status, reason=outcome.reason,
            now=now, app_id=app if app and _app_exists(connection, app) else None,
            from_address=None if message is None else arrived.sender,
            message_id=None if message is None else _message_id(message),
            conversation_id=outcome.conversation_id if outcome.status == "accepted" else None,
        )  # fmt: skip
        return outcome

    def _check(
        self, connection: Connection, arrived: Arrived, message: EmailMessage
    ) -> Outcome | _Passed:
        inbound, sender = arrived.inbound, arrived.sender
        domain = self._settings.inbound_domain
        if domain is None:
            return Outcome("refused", "no_inbound_domain")
        headers = [_header(message, name) for name in ("Delivered-To", "X-Original-To", "To", "Cc")]
        target = our_recipient([*inbound.recipients, *headers], domain)
        if target is None:
            target = _unsubscribe_target([*inbound.recipients, *headers], domain)
        if target is None:
            return Outcome("refused", "unknown_recipient")
        kind, value = target
        app_id = _app_of_target(connection, kind, value)  # to log it under, if any
        automatic = _automatic(message, inbound, sender)
        if automatic is not None:
            return Outcome("ignored", automatic, app_id=app_id)
        if sender is None:
            return Outcome("refused", "no_sender", app_id=app_id)
        if kind == "support":
            if inbound.app_id is not None and inbound.app_id != value:
                return Outcome("refused", "unknown_app")
            if not _app_exists(connection, value):
                return Outcome("refused", "unknown_app")  # logged without the app: no such row
            return _Passed("support", value)
        return self._check_reply(connection, inbound, value, sender, kind == "unsubscribe")

    def _check_reply(
        self, connection: Connection, inbound: Inbound, token: str, sender: str,
        unsubscribe: bool,
    ) -> Outcome | _Passed:  # fmt: skip
        # A reply token names a conversation; a digest's unsubscribe token, its mail.
        conversation_id = ReplyTokens.conversation_of(token)
        digest = unsubscribe and conversation_id is not None and conversation_id.startswith("mail_")
        parties = mail_digests.digest_parties if digest else conversation_parties
        found = None if conversation_id is None else parties(connection, conversation_id)
        if conversation_id is None or found is None:
            return Outcome("refused", "bad_token")
        app_id, contact_id = found
        if inbound.app_id is not None and app_id != inbound.app_id:
            return Outcome("refused", "bad_token")
        if not self._tokens.verify(token, app_id, contact_id):
            return Outcome("refused", "bad_token", app_id=app_id)
        address = mail_outbox.mail_address(connection, contact_id)
        if address is None or address.lower() != sender:
            return Outcome("refused", "sender_mismatch", app_id=app_id)
        if digest:
            return _Passed("unsubscribe_digest", app_id, conversation_id, contact_id)
        return _Passed(
            "unsubscribe" if unsubscribe else "reply", app_id, conversation_id, contact_id
        )

    def _act(
        self, connection: Connection, arrived: Arrived, message: EmailMessage, passed: _Passed,
        now: datetime, files: MailFiles,
    ) -> Outcome:  # fmt: skip
        if passed.kind in ("unsubscribe", "unsubscribe_digest"):
            assert passed.contact_id is not None
            digest = passed.conversation_id if passed.kind == "unsubscribe_digest" else None
            events = unsubscribe(connection, passed.app_id, passed.contact_id, digest, now)
            return Outcome("accepted", "unsubscribed", events=events, app_id=passed.app_id)
        if passed.kind == "support":
            return self._support(connection, arrived, message, passed.app_id, now, files)
        assert passed.conversation_id is not None
        assert passed.contact_id is not None
        return self._post(
            connection, arrived, message, passed.app_id, passed.conversation_id,
            passed.contact_id, now, files,
        )  # fmt: skip

    def _support(
        self, connection: Connection, arrived: Arrived, message: EmailMessage, app_id: str,
        now: datetime, files: MailFiles,
    ) -> Outcome:  # fmt: skip
        assert arrived.sender is not None  # _check refused a mail without one
        name = header_text(parseaddr(_header(message, "From"))[0], 255) or None
        contact_id = contacts.email_contact(connection, app_id, arrived.sender, name, now)
        # Its own Message-ID first: the same mail delivered again goes where it went.
        own = _message_id(message)
        threaded = ([own] if own else []) + _MESSAGE_IDS.findall(
            f"{_header(message, 'In-Reply-To')} {_header(message, 'References')}"
        )
        conversation_id = mail_outbox.conversation_of_message_id(connection, app_id, threaded)
        events: list[StreamItem] = []
        # Only the sender's own email conversations continue: a forged In-Reply-To
        # naming someone else's thread starts a new conversation instead.
        if (
            conversation_id is None
            or conversation_owner(connection, app_id, conversation_id) != contact_id
        ):
            conversation, event = start_conversation(connection, app_id, contact_id, now)
            conversation_id = str(conversation["id"])
            events.append(event)
            subject = _header(message, "Subject")
            prefix = f"{subject}\n\n" if subject else ""
        else:
            prefix = ""
        posted = self._post(
            connection, arrived, message, app_id, conversation_id, contact_id, now, files,
            prefix=prefix,
        )  # fmt: skip
        return Outcome(
            posted.status, posted.reason, posted.conversation_id, (*events, *posted.events), app_id
        )

    def _post(
        self, connection: Connection, arrived: Arrived, message: EmailMessage, app_id: str,
        conversation_id: str, contact_id: str, now: datetime, files: MailFiles, *,
        prefix: str = "",
    ) -> Outcome:  # fmt: skip
        body = parts.message_text(prefix + reply_text(message), files, MAX_REPLY_CHARS)
        if not body:
            return Outcome("ignored", "empty_reply", conversation_id, app_id=app_id)
        message_id = _message_id(message)
        client_id = _client_id(message_id, arrived.inbound.raw)
        if conversations.message_by_client_id(connection, conversation_id, client_id):
            # Delivered again: the first delivery's message (and files) stand.
            return Outcome("ignored", "duplicate", conversation_id, app_id=app_id)
        with connection.begin_nested() as attempt:
            attached = parts.store(
                connection, files, arrived.inbound.raw, app_id=app_id, contact_id=contact_id,
                now=now,
            )  # fmt: skip
            posted = post_message(
                connection, app_id=app_id, contact_id=contact_id,
                conversation_id=conversation_id,
                draft=Draft("contact", None, body, client_id, attached), now=now,
            )  # fmt: skip
            if not posted.created:  # a concurrent delivery won: its files stand alone
                attempt.rollback()
                return Outcome("ignored", "duplicate", conversation_id, app_id=app_id)
        data = {
            "email": {
                "conversation_id": conversation_id,
                "message_id": message_id,
                "channel": arrived.inbound.channel,
                "skipped": [{"name": item.name, "reason": item.reason} for item in files.skipped],
            },
            "message": posted.message,
        }
        webhook_outbox.enqueue(connection, app_id, EMAIL_RECEIVED, data, now, contact_id=contact_id)
        reason = "support" if prefix else "reply"
        return Outcome("accepted", reason, conversation_id, posted.events, app_id)


def _unsubscribe_target(values: list[str], domain: str) -> tuple[str, str] | None:
    for value in values:
        found = re.search(
            r"unsub\+([A-Za-z0-9_.\-]{1,60})@" + re.escape(domain), value, re.IGNORECASE
        )
        if found is not None:
            return "unsubscribe", found.group(1)
    return None


def _app_of_target(connection: Connection, kind: str, value: str) -> str | None:
    if kind == "support":
        return value
    conversation_id = ReplyTokens.conversation_of(value)
    if conversation_id is not None and conversation_id.startswith("mail_"):
        digest = mail_digests.digest_parties(connection, conversation_id)
        return None if digest is None else digest[0]
    found = None if conversation_id is None else conversation_parties(connection, conversation_id)
    return None if found is None else found[0]


def _app_exists(connection: Connection, app_id: str) -> bool:
    try:
        get_app(connection, app_id)
    except AppNotFound:
        return False
    return True
