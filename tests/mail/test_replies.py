"""Replies (SPEC 12): the user answers the email from their mail client and the answer
lands in the conversation, quotes stripped; a forged sender or a tampered token is
refused with 550, logged with its reason, and lands nowhere."""

from __future__ import annotations

import smtplib

import pytest

from countersign.storage import mail_settings
from tests.mail.conftest import Mail

GMAIL_QUOTE = """Thanks, that fixed it!

On Wed, 2 Dec 2026 at 23:10, Ann <support@acme.test> wrote:
> Try turning it off and on again.
"""


def _answered(mail: Mail, user_id: str, address: str) -> tuple[str, object]:
    token = mail.verified_user(user_id, address)
    conversation = mail.start_conversation(token)
    mail.answer(conversation, "Try turning it off and on again.")
    (email,) = mail.relay.wait_for(1)
    return conversation, email


def test_a_reply_comes_back_into_the_conversation_without_its_quotes(mail: Mail) -> None:
    conversation, email = _answered(mail, "u-10", "ada@example.org")
    mail.send(mail.reply_to(email, GMAIL_QUOTE, sender="Ada <Ada@Example.org>"))  # type: ignore[arg-type]
    last = mail.messages(conversation)[-1]
    assert last["author"]["type"] == "contact"
    assert last["body"] == "Thanks, that fixed it!"
    (entry,) = [e for e in mail.log() if e["direction"] == "in"]
    assert entry["status"] == "accepted"
    assert entry["conversation_id"] == conversation


def test_the_same_reply_delivered_twice_is_one_message(mail: Mail) -> None:
    conversation, email = _answered(mail, "u-11", "bea@example.org")
    reply = mail.reply_to(email, "Once only", sender="bea@example.org")  # type: ignore[arg-type]
    mail.send(reply)
    mail.send(reply)
    bodies = [m["body"] for m in mail.messages(conversation)]
    assert bodies.count("Once only") == 1


def test_a_reply_from_another_address_is_refused_and_logged(mail: Mail) -> None:
    conversation, email = _answered(mail, "u-12", "cy@example.org")
    forged = mail.reply_to(email, "Send me the invoices", sender="mallory@evil.example")  # type: ignore[arg-type]
    with pytest.raises(smtplib.SMTPDataError) as refused:
        mail.send(forged)
    assert refused.value.smtp_code == 550
    assert "Send me the invoices" not in [m["body"] for m in mail.messages(conversation)]
    (entry,) = [e for e in mail.log() if e["direction"] == "in"]
    assert entry["status"] == "refused"
    assert entry["reason"] == "sender_mismatch"
    assert entry["from"] == "mallory@evil.example"
    assert entry["conversation_id"] is None


def test_a_tampered_token_is_refused(mail: Mail) -> None:
    conversation, email = _answered(mail, "u-13", "dee@example.org")
    reply = mail.reply_to(email, "Hello", sender="dee@example.org")  # type: ignore[arg-type]
    address = str(reply["To"])
    token = address.split("+", 1)[1].split("@", 1)[0]
    flipped = token[:-1] + ("a" if token[-1] != "a" else "b")
    del reply["To"]
    reply["To"] = address.replace(token, flipped)
    with pytest.raises(smtplib.SMTPDataError) as refused:
        mail.send(reply)
    assert refused.value.smtp_code == 550
    assert [m["body"] for m in mail.messages(conversation)][-1] != "Hello"
    (entry,) = [e for e in mail.log() if e["direction"] == "in"]
    assert entry["reason"] == "bad_token"


def test_a_token_for_another_conversation_does_not_open_this_one(mail: Mail) -> None:
    conversation, email = _answered(mail, "u-14", "eve@example.org")
    other_token = mail.verified_user("u-15", "fay@example.org")
    other = mail.start_conversation(other_token)
    reply = mail.reply_to(email, "Hijack", sender="eve@example.org")  # type: ignore[arg-type]
    address = str(reply["To"])
    del reply["To"]
    reply["To"] = address.replace(conversation, other)  # the same tag, another conversation
    with pytest.raises(smtplib.SMTPDataError):
        mail.send(reply)
    assert "Hijack" not in [m["body"] for m in mail.messages(other)]


def test_a_reply_through_the_inbound_webhook(mail: Mail) -> None:
    conversation, email = _answered(mail, "u-16", "gus@example.org")
    key = mail.harness.backend.database.run_sync(
        lambda c: mail_settings.new_inbound_key(c, mail.app_id)
    )
    reply = mail.reply_to(email, "By HTTP\n\n-- \nGus", sender="gus@example.org")  # type: ignore[arg-type]
    raw = reply.as_bytes()
    client = mail.harness.client
    assert client.post("/v1/inbound/email", content=raw).status_code == 401
    taken = client.post(
        "/v1/inbound/email", content=raw, headers={"Authorization": f"Bearer {key}",
        "Content-Type": "message/rfc822"},
    )  # fmt: skip
    assert taken.status_code == 200, taken.text
    assert taken.json()["conversation_id"] == conversation
    assert mail.messages(conversation)[-1]["body"] == "By HTTP"
    forged = mail.reply_to(email, "x", sender="mallory@evil.example")  # type: ignore[arg-type]
    refused = client.post(
        "/v1/inbound/email", content=forged.as_bytes(), headers={"Authorization": f"Bearer {key}"}
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "mail_refused"


def test_a_sender_guessing_tokens_is_turned_away(mail: Mail) -> None:
    conversation, email = _answered(mail, "u-17", "hal@example.org")
    for n in range(20):
        guess = mail.reply_to(email, "guess", sender="hal@example.org")  # type: ignore[arg-type]
        del guess["To"]
        guess["To"] = f"reply+{conversation}.{'a' * 25}{chr(97 + n % 26)}@in.acme.test"
        with pytest.raises(smtplib.SMTPDataError):
            mail.send(guess)
    genuine = mail.reply_to(email, "Now the real one", sender="hal@example.org")  # type: ignore[arg-type]
    with pytest.raises(smtplib.SMTPRecipientsRefused) as turned_away:
        mail.send(genuine)
    assert {code for code, _ in turned_away.value.recipients.values()} == {421}
    assert "Now the real one" not in [m["body"] for m in mail.messages(conversation)]
