"""Continuity (SPEC 12): the team's messages a user has not seen reach them by email,
one email per quiet period, threaded, only while no widget of theirs is open."""

from __future__ import annotations

import time
from email.message import EmailMessage

from tests.mail.conftest import DELAY, DOMAIN, Mail


def test_a_quiet_period_of_answers_is_one_email_to_the_verified_address(mail: Mail) -> None:
    token = mail.verified_user("u-1", "ada@example.org")
    conversation = mail.start_conversation(token)
    mail.answer(conversation, "First answer")
    mail.answer(conversation, "Second answer <script>alert(1)</script>", kind="bot", name="Bot")
    (email,) = mail.relay.wait_for(1)
    time.sleep(DELAY + 0.5)
    assert len(mail.relay.received) == 1  # both messages, one email
    assert email.rcpt_tos == ["ada@example.org"]
    message = email.message
    assert str(message["To"]) == "ada@example.org"
    assert str(message["Reply-To"]).startswith("reply+")
    assert str(message["Reply-To"]).endswith("@" + DOMAIN)
    assert str(message["List-Unsubscribe"]).startswith("<mailto:unsub+")
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    text, html = email.text(), email.html()
    assert "First answer" in text
    assert "Second answer" in text
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "Hello, I need help" not in text  # the user's own message is not mailed back
    (entry,) = mail.settled()
    assert entry["status"] == "sent"
    assert entry["to"] == "ada@example.org"


def test_the_next_email_threads_under_the_first(mail: Mail) -> None:
    token = mail.verified_user("u-2", "bob@example.org")
    conversation = mail.start_conversation(token)
    mail.answer(conversation, "One")
    (first,) = mail.relay.wait_for(1)
    mail.answer(conversation, "Two")
    second = mail.relay.wait_for(2)[1]
    first_id = str(first.message["Message-ID"])
    assert first.message["In-Reply-To"] is None
    assert str(second.message["In-Reply-To"]) == first_id
    assert first_id in str(second.message["References"])
    assert str(second.message["Message-ID"]) != first_id


def test_a_note_is_never_mailed(mail: Mail) -> None:
    token = mail.verified_user("u-3", "cy@example.org")
    conversation = mail.start_conversation(token)
    noted = mail.api(
        "POST", f"/v1/conversations/{conversation}/notes",
        json={"body": "internal: VIP customer", "author": {"name": "Ann"}},
    )  # fmt: skip
    assert noted.status_code == 201, noted.text
    time.sleep(DELAY + 1.0)
    assert mail.relay.received == []
    assert [e for e in mail.log() if e["direction"] == "out"] == []


def test_an_open_widget_holds_the_email_until_it_closes(mail: Mail) -> None:
    token = mail.verified_user("u-4", "dee@example.org")
    conversation = mail.start_conversation(token)
    with mail.harness.client.websocket_connect("/v1/widget/stream") as stream:
        stream.send_json({"token": token, "since": None})
        assert stream.receive_json()["type"] == "ready"
        mail.answer(conversation, "Are you there?")
        time.sleep(DELAY + 1.0)
        assert mail.relay.received == []  # they have the widget open
        (entry,) = [e for e in mail.log() if e["direction"] == "out"]
        assert entry["status"] == "pending"
        assert entry["reason"] == "widget_open"
    (email,) = mail.relay.wait_for(1, timeout=DELAY * 3 + 5)
    assert "Are you there?" in email.text()


def test_the_list_unsubscribe_address_stops_the_email(mail: Mail) -> None:
    token = mail.verified_user("u-5", "eve@example.org")
    conversation = mail.start_conversation(token)
    mail.answer(conversation, "One")
    (email,) = mail.relay.wait_for(1)
    address = str(email.message["List-Unsubscribe"]).removeprefix("<mailto:").split("?")[0]
    assert len(address.split("@")[0]) <= 64
    stop = EmailMessage()
    stop["From"] = "eve@example.org"
    stop["To"] = address
    stop["Subject"] = "unsubscribe"
    stop.set_content("unsubscribe")
    mail.send(stop)
    mail.answer(conversation, "Two")
    time.sleep(DELAY + 1.0)
    assert len(mail.relay.received) == 1
    assert "unsubscribed" in [e["reason"] for e in mail.log() if e["direction"] == "in"]


def _read(mail: Mail, token: str, conversation: str, up_to_seq: int) -> None:
    read = mail.harness.client.post(
        f"/v1/widget/conversations/{conversation}/read",
        json={"up_to_seq": up_to_seq},
        headers=mail.harness.session_headers(token),
    )
    assert read.status_code in (200, 204), read.text


def test_reading_in_the_widget_cancels_the_email_not_yet_sent(mail: Mail) -> None:
    token = mail.verified_user("u-6", "fay@example.org")
    conversation = mail.start_conversation(token)
    mail.answer(conversation, "Seen in the widget")  # seq 2
    _read(mail, token, conversation, 2)  # on another device, with no stream open here
    time.sleep(DELAY + 1.0)
    assert mail.relay.received == []
    (entry,) = mail.settled()
    assert entry["status"] == "cancelled"
    assert entry["reason"] == "read_in_widget"


def test_only_what_is_still_unread_is_mailed(mail: Mail) -> None:
    token = mail.verified_user("u-7", "gil@example.org")
    conversation = mail.start_conversation(token)
    mail.answer(conversation, "Read already")  # seq 2
    mail.answer(conversation, "Not read yet")  # seq 3
    _read(mail, token, conversation, 2)
    (email,) = mail.relay.wait_for(1)
    assert "Not read yet" in email.text()
    assert "Read already" not in email.text()
