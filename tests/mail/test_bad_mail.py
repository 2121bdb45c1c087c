"""Bad input at the SMTP receiver: malformed MIME, a 30 MB message, 500 recipients, a
header injection in a user's display name, non-UTF-8 charsets, bounces and automatic
replies. No crash, no loop, nothing stored where it does not belong."""

from __future__ import annotations

import smtplib
import time
from email.message import EmailMessage

import pytest

from tests.mail.conftest import DELAY, DOMAIN, Mail
from tests.server.dashboard.conftest import OWNER, add_operator, fast_passwords  # noqa: F401


def _conversation_count(mail: Mail) -> int:
    return len(mail.api("GET", "/v1/conversations").json()["data"])


def _raw(mail: Mail, raw: bytes, sender: str = "zoe@example.org") -> None:
    with smtplib.SMTP("127.0.0.1", mail.smtp_port, timeout=30) as client:
        client.sendmail(sender, [f"support+{mail.app_id}@{DOMAIN}"], raw)


def test_malformed_mime_is_no_crash(mail: Mail) -> None:
    raw = (
        b"From: zoe@example.org\r\nTo: support+" + mail.app_id.encode() + b"@" + DOMAIN.encode()
        + b"\r\nContent-Type: multipart/mixed; boundary=\"nope\r\nSubject: =?bogus?x?zz?=\r\n\r\n"
        b"--wrong\r\nContent-Type: text/plain; charset=\"\r\n\r\nhello\r\n--nope"
    )  # fmt: skip
    _raw(mail, raw)  # read as well as it can be: a conversation of the sender's
    with pytest.raises(smtplib.SMTPDataError) as refused:
        _raw(mail, b"\x00\xff\xfe not a mail at all")  # no From: refused, nothing stored
    assert refused.value.smtp_code == 550
    assert _conversation_count(mail) <= 1
    reasons = [e["reason"] for e in mail.log() if e["direction"] == "in"]
    assert "no_sender" in reasons or "malformed" in reasons


def test_a_30_mb_message_is_refused_while_it_arrives(mail: Mail) -> None:
    message = EmailMessage()
    message["From"] = "zoe@example.org"
    message["To"] = f"support+{mail.app_id}@{DOMAIN}"
    message.set_content("x" * (30 * 1024 * 1024))
    with pytest.raises(smtplib.SMTPException):
        mail.send(message)
    assert _conversation_count(mail) == 0
    small = EmailMessage()
    small["From"] = "zoe@example.org"
    small["To"] = f"support+{mail.app_id}@{DOMAIN}"
    small.set_content("still here")
    mail.send(small)  # the receiver still answers
    assert _conversation_count(mail) == 1


def test_500_recipients_are_cut_at_the_limit(mail: Mail) -> None:
    recipients = [f"support+{mail.app_id}@{DOMAIN}"] + [f"user{i}@{DOMAIN}" for i in range(499)]
    message = EmailMessage()
    message["From"] = "zoe@example.org"
    message["To"] = recipients[0]
    message.set_content("to everyone")
    with smtplib.SMTP("127.0.0.1", mail.smtp_port, timeout=30) as client:
        refused = client.send_message(message, to_addrs=recipients)
    assert len(refused) == 500 - mail.harness.settings.smtp_max_recipients
    assert {code for code, _ in refused.values()} == {452}
    assert _conversation_count(mail) == 1  # one mail, one conversation


def test_a_display_name_cannot_add_a_header(mail: Mail) -> None:
    add_operator(mail.harness, OWNER, "owner", "Olivia Owner")
    raw = (
        "From: =?utf-8?q?Eve=0D=0ABcc=3A_victim=40example=2Eorg?= <eve@example.org>\r\n"
        f"To: support+{mail.app_id}@{DOMAIN}\r\n"
        "Subject: =?utf-8?q?Hi=0D=0ABcc=3A_victim=40example=2Eorg?=\r\n\r\nHello\r\n"
    ).encode()
    _raw(mail, raw, sender="eve@example.org")
    (email,) = mail.relay.wait_for(1)  # the operator's email about it
    assert email.rcpt_tos == [OWNER]
    assert email.message["Bcc"] is None
    assert b"\r\nBcc:" not in email.raw
    for value in email.message.values():
        assert "\n" not in str(value).strip()


@pytest.mark.parametrize(
    ("charset", "body", "expected"),
    [
        ("iso-8859-1", "Caf\xe9 cr\xe8me".encode("latin-1"), "Café crème"),
        ("windows-1252", b"\x93quoted\x94", "\u201cquoted\u201d"),
        ("x-no-such-charset", b"plain \xff bytes", "plain \ufffd bytes"),
    ],
)
def test_non_utf8_charsets_are_read(mail: Mail, charset: str, body: bytes, expected: str) -> None:
    raw = (
        (
            f"From: zoe@example.org\r\nTo: support+{mail.app_id}@{DOMAIN}\r\n"
            f"Content-Type: text/plain; charset={charset}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        ).encode()
        + body
        + b"\r\n"
    )
    _raw(mail, raw)
    (conversation,) = mail.api("GET", "/v1/conversations").json()["data"]
    assert mail.messages(conversation["id"])[0]["body"] == expected


def test_a_bounce_is_dropped_and_never_answered(mail: Mail) -> None:
    token = mail.verified_user("u-40", "ada@example.org")
    conversation = mail.start_conversation(token)
    mail.answer(conversation, "Hello")
    (sent,) = mail.relay.wait_for(1)
    bounce = EmailMessage()
    bounce["From"] = "MAILER-DAEMON@mx.example.org"
    bounce["To"] = str(sent.message["Reply-To"])
    bounce["Subject"] = "Undelivered Mail Returned to Sender"
    bounce.set_content("The mail system could not deliver your message.")
    mail.send(bounce, sender="")
    auto = mail.reply_to(sent, "I am out of office", sender="ada@example.org")
    auto["Auto-Submitted"] = "auto-replied"
    mail.send(auto)
    bodies = [m["body"] for m in mail.messages(conversation)]
    assert "I am out of office" not in bodies
    assert not any("could not deliver" in body for body in bodies)
    reasons = sorted(e["reason"] for e in mail.log() if e["direction"] == "in")
    assert reasons == ["auto_reply", "bounce"]
    time.sleep(DELAY + 0.5)
    assert len(mail.relay.received) == 1  # no answer to either: no loop
