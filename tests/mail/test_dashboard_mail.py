"""Email in the dashboard: the mail log page, the email badge of a support-address
contact, and an operator's own switch that stops their email."""

from __future__ import annotations

import time
from email.message import EmailMessage

from tests.mail.conftest import DELAY, DOMAIN, Mail
from tests.server.dashboard.conftest import (
    AGENT,
    OWNER,
    PASSWORD,
    add_operator,
    csrf_of,
    fast_passwords,  # noqa: F401
)


def _login(mail: Mail, email: str) -> None:
    client = mail.harness.client
    client.cookies.clear()
    form = client.get("/dashboard/login")
    logged = client.post(
        "/dashboard/login",
        data={"email": email, "password": PASSWORD, "csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )
    assert logged.status_code == 303, logged.text


def test_the_mail_page_shows_sent_and_refused_mail_and_the_email_badge(mail: Mail) -> None:
    add_operator(mail.harness, OWNER, "owner", "Olivia Owner")
    message = EmailMessage()
    message["From"] = "Zoe <zoe@example.org>"
    message["To"] = f"support+{mail.app_id}@{DOMAIN}"
    message["Subject"] = "Hello <b>there</b>"
    message.set_content("Question")
    mail.send(message)
    mail.relay.wait_for(1)  # the owner's notification
    _login(mail, OWNER)
    page = mail.harness.client.get(f"/dashboard/apps/{mail.app_id}/mail")
    assert page.status_code == 200, page.text
    assert f"support+{mail.app_id}@{DOMAIN}" in page.text
    assert "zoe@example.org" in page.text
    assert "owner@example.com" in page.text
    assert "<b>there</b>" not in page.text
    inbox = mail.harness.client.get(f"/dashboard/apps/{mail.app_id}/inbox")
    assert 'class="badge badge-email"' in inbox.text


def test_an_operator_turns_their_email_off_on_their_profile(mail: Mail) -> None:
    add_operator(mail.harness, OWNER, "owner", "Olivia Owner")
    add_operator(mail.harness, AGENT, "agent", "Aaron Agent")
    _login(mail, AGENT)
    profile = mail.harness.client.get("/dashboard/profile")
    assert "Turn them off" in profile.text
    turned = mail.harness.client.post(
        "/dashboard/profile/email",
        data={"email_notifications": "off", "csrf_token": csrf_of(profile.text)},
        follow_redirects=False,
    )
    assert turned.status_code == 303, turned.text
    assert "Turn them on" in mail.harness.client.get("/dashboard/profile").text
    mail.harness.client.cookies.clear()  # no dashboard open for anyone
    token = mail.harness.verified("visitor-9")["session_token"]
    mail.start_conversation(token, "Hello team")
    mail.relay.wait_for(1)
    time.sleep(DELAY + 0.5)
    assert [r.rcpt_tos for r in mail.relay.received] == [[OWNER]]


def test_the_profile_switch_wants_its_csrf_token(mail: Mail) -> None:
    add_operator(mail.harness, AGENT, "agent", "Aaron Agent")
    _login(mail, AGENT)
    refused = mail.harness.client.post(
        "/dashboard/profile/email", data={"email_notifications": "off"}, follow_redirects=False
    )
    assert refused.status_code == 403
    assert "Turn them off" in mail.harness.client.get("/dashboard/profile").text
