"""The support address (SPEC 12): new mail starts a conversation of an unverified email
contact, the answer goes out by email, and a reply continues the same conversation;
the contact is never merged into the verified user of that address."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import select

from countersign.storage.models import Contact
from tests.mail.conftest import DOMAIN, Mail


def _support_mail(
    mail: Mail, sender: str, body: str, subject: str = "Billing question"
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"Zoe <{sender}>"
    message["To"] = f"support+{mail.app_id}@{DOMAIN}"
    message["Subject"] = subject
    message["Message-ID"] = f"<first.{sender.partition('@')[0]}@mail.example.org>"
    message.set_content(body)
    return message


def _contact_row(mail: Mail, contact_id: str) -> Any:
    return mail.harness.backend.database.run_sync(
        lambda c: c.execute(select(Contact).where(Contact.id == contact_id)).one()
    )


def _conversations_of(mail: Mail) -> list[dict[str, object]]:
    listed = mail.api("GET", "/v1/conversations")
    assert listed.status_code == 200, listed.text
    return list(listed.json()["data"])


def test_support_mail_becomes_an_email_contacts_conversation_and_is_answered_by_email(
    mail: Mail,
) -> None:
    mail.send(_support_mail(mail, "zoe@example.org", "Why was I charged twice?"))
    (conversation,) = _conversations_of(mail)
    assert conversation["contact"]["verified"] is False  # type: ignore[index]
    conversation_id = str(conversation["id"])
    contact = _contact_row(mail, str(conversation["contact"]["id"]))  # type: ignore[index]
    assert (contact.email, contact.verified, contact.via_email) == ("zoe@example.org", False, True)
    (first,) = mail.messages(conversation_id)
    assert first["body"] == "Billing question\n\nWhy was I charged twice?"
    mail.answer(conversation_id, "Refunded, sorry!")
    (answer,) = mail.relay.wait_for(1)
    assert answer.rcpt_tos == ["zoe@example.org"]
    mail.send(mail.reply_to(answer, "Thanks!\n\n> Refunded, sorry!", sender="zoe@example.org"))
    assert [m["body"] for m in mail.messages(conversation_id)][-1] == "Thanks!"
    assert len(_conversations_of(mail)) == 1
    # A new mail that answers the first one's Message-ID continues it too.
    follow_up = _support_mail(mail, "zoe@example.org", "One more thing")
    del follow_up["Message-ID"]
    follow_up["Message-ID"] = "<second@mail.example.org>"
    follow_up["In-Reply-To"] = "<first.zoe@mail.example.org>"
    mail.send(follow_up)
    assert len(_conversations_of(mail)) == 1
    assert [m["body"] for m in mail.messages(conversation_id)][-1] == "One more thing"


def test_the_same_support_mail_delivered_twice_is_one_message(mail: Mail) -> None:
    message = _support_mail(mail, "zoe@example.org", "Only once")
    mail.send(message)
    mail.send(message)
    (conversation,) = _conversations_of(mail)
    assert len(mail.messages(str(conversation["id"]))) == 1


def test_an_email_contact_is_never_the_verified_user_of_that_address(mail: Mail) -> None:
    token = mail.verified_user("u-20", "zoe@example.org")
    verified = mail.start_conversation(token, "From the widget")
    mail.send(_support_mail(mail, "zoe@example.org", "From my mailbox"))
    widget = mail.harness.client.get(
        "/v1/widget/conversations", headers=mail.harness.session_headers(token)
    )
    assert [c["id"] for c in widget.json()["data"]] == [verified]  # not merged in
    email_contact = [c for c in _conversations_of(mail) if c["id"] != verified]
    assert email_contact[0]["contact"]["verified"] is False  # type: ignore[index]


def test_a_forged_in_reply_to_does_not_enter_someone_elses_conversation(mail: Mail) -> None:
    token = mail.verified_user("u-21", "victim@example.org")
    victims = mail.start_conversation(token)
    mail.answer(victims, "Your reset link is on its way")
    (sent,) = mail.relay.wait_for(1)
    forged = _support_mail(mail, "mallory@evil.example", "Give me access")
    forged["In-Reply-To"] = str(sent.message["Message-ID"])
    mail.send(forged)
    assert "Give me access" not in [m["body"] for m in mail.messages(victims)]
    assert len(_conversations_of(mail)) == 2


def test_mail_for_an_unknown_app_is_refused(mail: Mail) -> None:
    message = _support_mail(mail, "zoe@example.org", "Hello")
    del message["To"]
    message["To"] = f"support+app_nope@{DOMAIN}"
    with pytest.raises(smtplib.SMTPDataError) as refused:
        mail.send(message)
    assert refused.value.smtp_code == 550
    assert _conversations_of(mail) == []
