"""Issue 15's "done when", end to end: a verified user writes and closes the tab; the
operator answers from the dashboard; the user gets one email, answers it from their
mail client, and the answer is in the dashboard and, on their next visit, in the
widget; a forged reply from another address is refused and shows in the mail log."""

from __future__ import annotations

import smtplib
import time

import pytest

from tests.mail.conftest import DELAY, Mail
from tests.mail.test_dashboard_mail import _login
from tests.server.dashboard.conftest import (
    OWNER,
    add_operator,
    csrf_of,
    fast_passwords,  # noqa: F401
)


def test_a_reply_by_email_reaches_the_dashboard_and_the_widget(mail: Mail) -> None:
    add_operator(mail.harness, OWNER, "owner", "Olivia Owner")
    client = mail.harness.client
    token = mail.verified_user("ada", "ada@example.org")
    with client.websocket_connect("/v1/widget/stream") as tab:
        tab.send_json({"token": token, "since": None})
        assert tab.receive_json()["type"] == "ready"
        conversation = mail.start_conversation(token, "My invoice is wrong")
    # The tab is closed. The owner was told by email (no dashboard was open).
    (told,) = mail.relay.wait_for(1)
    assert told.rcpt_tos == [OWNER]
    _login(mail, OWNER)
    page = client.get(f"/dashboard/apps/{mail.app_id}/inbox/{conversation}")
    answered = client.post(
        f"/dashboard/apps/{mail.app_id}/inbox/{conversation}/reply",
        data={"body": "Fixed: you will get a new one today.", "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert answered.status_code in (200, 303), answered.text
    email = mail.relay.wait_for(2)[1]
    time.sleep(DELAY + 0.5)
    assert len(mail.relay.received) == 2  # one email to the user
    assert email.rcpt_tos == ["ada@example.org"]
    assert "Fixed: you will get a new one today." in email.text()
    assert "Olivia Owner" in str(email.message["From"])  # the display name, never the email
    assert OWNER not in str(email.message["From"])
    mail.send(
        mail.reply_to(
            email, "Thank you!\n\nOn Wed, Olivia wrote:\n> Fixed", sender="ada@example.org"
        )
    )
    thread = client.get(f"/dashboard/apps/{mail.app_id}/inbox/{conversation}")
    assert "Thank you!" in thread.text
    assert "On Wed, Olivia wrote" not in thread.text
    # The next visit: the widget shows it too.
    visit = mail.harness.verified("ada")["session_token"]
    listed = client.get(
        f"/v1/widget/conversations/{conversation}/messages",
        headers=mail.harness.session_headers(visit),
    )
    assert [m["body"] for m in listed.json()["data"]][-1] == "Thank you!"
    # A forged reply: refused, and in the log.
    forged = mail.reply_to(email, "Change my address to 1 Evil St", sender="mallory@evil.example")
    with pytest.raises(smtplib.SMTPDataError) as refused:
        mail.send(forged)
    assert refused.value.smtp_code == 550
    log_page = client.get(f"/dashboard/apps/{mail.app_id}/mail")
    assert "sender_mismatch" in log_page.text
    assert "mallory@evil.example" in log_page.text
    assert "Evil St" not in client.get(f"/dashboard/apps/{mail.app_id}/inbox/{conversation}").text
