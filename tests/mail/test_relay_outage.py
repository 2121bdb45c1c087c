"""A relay that is down, then back: nothing lost, nothing sent twice; a relay that
refuses for good: the email is given up on, ``email.failed`` is its webhook."""

from __future__ import annotations

import time
from collections.abc import Callable

from tests.mail.conftest import DELAY, Mail


def test_a_relay_down_then_back_loses_nothing_and_sends_nothing_twice(mail: Mail) -> None:
    mail.relay.stop()
    token = mail.verified_user("u-30", "ada@example.org")
    conversation = mail.start_conversation(token)
    mail.answer(conversation, "While the relay sleeps")
    deadline = time.monotonic() + 10
    while True:  # at least two failed attempts
        (entry,) = [e for e in mail.log() if e["direction"] == "out"]
        if entry["attempts"] >= 2 and entry["status"] == "pending":
            break
        assert time.monotonic() < deadline, entry
        time.sleep(0.05)
    assert "relay unreachable" in str(entry["last_error"])
    mail.relay.start()
    (email,) = mail.relay.wait_for(1)
    assert "While the relay sleeps" in email.text()
    time.sleep(DELAY + 1.0)
    assert len(mail.relay.received) == 1
    (entry,) = mail.settled()
    assert entry["status"] == "sent"


def test_a_relay_that_refuses_for_good_ends_the_email(mail: Mail) -> None:
    mail.relay.refuse_with = "554 5.7.1 rejected"
    token = mail.verified_user("u-31", "bea@example.org")
    mail.answer(mail.start_conversation(token), "Never delivered")
    (entry,) = mail.settled()
    assert entry["status"] == "dead"
    assert entry["attempts"] == 1
    assert "554" in str(entry["last_error"])


def test_the_queue_and_its_attempts_are_in_the_metrics(make_mail: Callable[..., Mail]) -> None:
    mail = make_mail(metrics_token="metrics-token-for-the-mail-test-0001")
    mail.relay.stop()
    token = mail.verified_user("u-32", "cy@example.org")
    mail.answer(mail.start_conversation(token), "Queued")

    def scrape() -> str:
        headers = {"Authorization": "Bearer metrics-token-for-the-mail-test-0001"}
        return str(mail.harness.client.get("/metrics", headers=headers).text)

    assert "countersign_mail_queue_depth 1.0" in scrape()
    mail.relay.start()
    mail.relay.wait_for(1)
    mail.settled()
    text = scrape()
    assert "countersign_mail_queue_depth 0.0" in text
    assert 'countersign_mail_attempts_total{outcome="sent"}' in text
