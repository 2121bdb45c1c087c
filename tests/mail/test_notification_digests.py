"""Notification email (SPEC 13 with 12): the unread notifications of one delay period,
in categories the user gets by email, as one digest to their verified address; what
is read or archived in the widget before it is sent leaves it. On SQLite and
PostgreSQL, through the real outbox, worker and an aiosmtpd relay."""

from __future__ import annotations

import json
import smtplib
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from countersign.cli import cli
from countersign.notifications import set_category
from countersign.storage import mail_settings
from countersign.storage.notification_settings import Category
from tests.conftest import CLEAN_ENV
from tests.mail.conftest import DELAY, DOMAIN, Mail
from tests.mail.test_dashboard_mail import _login as login
from tests.mail.test_verified_address_rule import CLAIMED_EMAIL, SCENARIOS
from tests.mail.test_verified_address_rule import _claim as claim
from tests.server.dashboard.conftest import OWNER, add_operator, fast_passwords  # noqa: F401

SLOW = 3  # an email_delay long enough to act in the widget before it runs out


def _category(mail: Mail, name: str, *, email: bool, in_app: bool = True) -> None:
    """``countersign categories set APP NAME --default-email on|off``, as storage has it."""
    category = Category(name, name.capitalize(), in_app, email)
    mail.harness.backend.database.run_sync(lambda c: set_category(c, mail.app_id, category))


def _delay(mail: Mail, seconds: int) -> None:
    mail.harness.backend.database.run_sync(
        lambda c: mail_settings.set_email_delay(c, mail.app_id, seconds)
    )


def _notify(mail: Mail, user_id: str, title: str, **fields: Any) -> str:
    sent = mail.api(
        "POST", "/v1/notifications",
        json={"user_id": user_id, "title": title, "category": "billing", **fields},
    )  # fmt: skip
    assert sent.status_code == 201, sent.text
    return str(sent.json()["id"])


def _widget(mail: Mail, token: str, path: str, body: Any = None) -> None:
    done = mail.harness.client.post(
        f"/v1/widget/notifications{path}", json=body, headers=mail.harness.session_headers(token)
    )
    assert done.status_code == 200, done.text


def _out(mail: Mail) -> list[dict[str, Any]]:
    return [e for e in mail.log() if e["direction"] == "out"]


def test_one_notification_is_one_email_after_the_delay(mail: Mail) -> None:
    _category(mail, "billing", email=True)
    mail.verified_user("u-1", "ada@example.org")
    started = time.monotonic()
    _notify(
        mail, "u-1", "Invoice ready", body="March: 42 EUR",
        actions=[{"label": "Pay", "url": "https://pay.example/i/1"}],
    )  # fmt: skip
    (email,) = mail.relay.wait_for(1)
    assert time.monotonic() - started >= DELAY * 0.9  # not before the delay
    time.sleep(DELAY + 0.5)
    assert len(mail.relay.received) == 1
    assert email.rcpt_tos == ["ada@example.org"]
    message = email.message
    assert str(message["Subject"]) == "Invoice ready (Acme)"
    assert message["Reply-To"] is None  # a digest belongs to no conversation
    assert str(message["List-Unsubscribe"]).startswith("<mailto:unsub+mail_")
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    text, html = email.text(), email.html()
    assert "Invoice ready" in text
    assert "March: 42 EUR" in text
    assert "Pay: https://pay.example/i/1" in text
    assert 'href="https://pay.example/i/1"' in html
    (entry,) = mail.settled()
    assert entry["kind"] == "digest"
    assert entry["status"] == "sent"
    assert entry["conversation_id"] is None
    assert entry["to"] == "ada@example.org"


def test_three_notifications_are_one_digest(mail: Mail) -> None:
    _category(mail, "billing", email=True)
    mail.verified_user("u-2", "bob@example.org")
    for title in ("First invoice", "Second invoice", "Third invoice"):
        _notify(mail, "u-2", title)
    (email,) = mail.relay.wait_for(1)
    time.sleep(DELAY + 0.5)
    assert len(mail.relay.received) == 1
    assert "3 new notifications from" in str(email.message["Subject"])
    text = email.text()
    assert text.index("First invoice") < text.index("Second invoice") < text.index("Third")
    (entry,) = mail.settled()
    assert entry["kind"] == "digest"


def test_read_in_the_widget_before_the_delay_sends_nothing(mail: Mail) -> None:
    _delay(mail, SLOW)
    _category(mail, "billing", email=True)
    token = mail.verified_user("u-3", "cy@example.org")
    notification = _notify(mail, "u-3", "Invoice ready")
    _widget(mail, token, f"/{notification}/read")
    time.sleep(SLOW + 1.0)
    assert mail.relay.received == []
    (entry,) = mail.settled()
    assert entry["status"] == "cancelled"
    assert entry["reason"] == "read_in_widget"


def test_read_one_of_three_leaves_a_digest_of_two(mail: Mail) -> None:
    _delay(mail, SLOW)
    _category(mail, "billing", email=True)
    token = mail.verified_user("u-4", "dee@example.org")
    ids = [_notify(mail, "u-4", title) for title in ("Alpha bill", "Beta bill", "Gamma bill")]
    _widget(mail, token, f"/{ids[1]}/read")
    (email,) = mail.relay.wait_for(1, timeout=SLOW + 10)
    assert "2 new notifications from" in str(email.message["Subject"])
    text = email.text()
    assert "Alpha bill" in text
    assert "Gamma bill" in text
    assert "Beta bill" not in text
    assert "Beta bill" not in email.html()


@pytest.mark.parametrize("how", ["read-all", "archive-all", "archive"])
def test_read_all_or_archive_before_the_delay_cancels_the_digest(mail: Mail, how: str) -> None:
    _delay(mail, SLOW)
    _category(mail, "billing", email=True)
    token = mail.verified_user("u-5", "eli@example.org")
    ids = [_notify(mail, "u-5", title) for title in ("One", "Two")]
    if how == "archive":
        for notification in ids:
            _widget(mail, token, f"/{notification}/archive")
    else:
        _widget(mail, token, f"/{how}", {"category": "billing"})
    time.sleep(SLOW + 1.0)
    assert mail.relay.received == []
    (entry,) = mail.settled()
    assert (entry["status"], entry["reason"]) == ("cancelled", "read_in_widget")


def test_a_category_with_email_off_sends_nothing(mail: Mail) -> None:
    _category(mail, "billing", email=False)
    _category(mail, "status", email=True)
    mail.verified_user("u-6", "fay@example.org")
    _notify(mail, "u-6", "Billing, not by email")
    _notify(mail, "u-6", "General, never declared", category="general")
    # The same user, a category with email on: the path works, and only that is sent.
    _notify(mail, "u-6", "Maintenance tonight", category="status")
    (email,) = mail.relay.wait_for(1)
    time.sleep(DELAY + 1.0)
    assert len(mail.relay.received) == 1
    assert "Maintenance tonight" in email.text()
    assert "Billing, not by email" not in email.text()
    assert "General, never declared" not in email.text()


def test_the_users_own_choice_wins_over_the_default(mail: Mail) -> None:
    _category(mail, "billing", email=False)
    mail.verified_user("u-7", "gus@example.org")
    mail.verified_user("u-8", "hal@example.org")
    chose = mail.api(
        "PUT", "/v1/preferences/u-7", json={"categories": {"billing": {"email": True}}}
    )
    assert chose.status_code == 200, chose.text
    _notify(mail, "u-7", "You asked for this")
    _notify(mail, "u-8", "Not for you by email")
    mail.relay.wait_for(1)
    time.sleep(DELAY + 1.0)
    assert [r.rcpt_tos for r in mail.relay.received] == [["gus@example.org"]]


def test_email_turned_off_before_the_delay_cancels_it(mail: Mail) -> None:
    _delay(mail, SLOW)
    _category(mail, "billing", email=True)
    token = mail.verified_user("u-9", "ida@example.org")
    _notify(mail, "u-9", "Invoice ready")
    turned = mail.harness.client.put(
        "/v1/widget/preferences",
        json={"categories": {"billing": {"email": False}}},
        headers=mail.harness.session_headers(token),
    )
    assert turned.status_code == 200, turned.text
    time.sleep(SLOW + 1.0)
    assert mail.relay.received == []
    (entry,) = mail.settled()
    assert (entry["status"], entry["reason"]) == ("cancelled", "email_off")


def test_a_muted_category_creates_nothing_so_no_mail(mail: Mail) -> None:
    _category(mail, "billing", email=True, in_app=False)
    mail.verified_user("u-10", "jo@example.org")
    sent = mail.api(
        "POST", "/v1/notifications", json={"user_id": "u-10", "title": "x", "category": "billing"}
    )
    assert sent.status_code in (200, 201), sent.text
    time.sleep(DELAY + 1.0)
    assert mail.relay.received == []
    assert _out(mail) == []


def test_the_html_escapes_what_the_backend_wrote(mail: Mail) -> None:
    _category(mail, "billing", email=True)
    mail.verified_user("u-11", "kim@example.org")
    _notify(
        mail, "u-11", "<script>alert(1)</script> Invoice",
        body='<img src=x onerror="alert(2)"> & more',
        actions=[{"label": "<b>Pay</b>", "url": 'https://pay.example/?a="><script>'}],
    )  # fmt: skip
    (email,) = mail.relay.wait_for(1)
    html = email.html()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Invoice" in html
    assert "<img" not in html
    assert "&lt;img src=x onerror=" in html
    assert "<b>Pay</b>" not in html
    assert '"><script>' not in html
    assert str(email.message["Subject"]) == "<script>alert(1)</script> Invoice (Acme)"


def test_a_bulk_send_gives_each_verified_user_one_digest(mail: Mail) -> None:
    _category(mail, "billing", email=True)
    for n in range(3):
        mail.verified_user(f"bulk-{n}", f"bulk{n}@example.org")
    sent = mail.api(
        "POST", "/v1/notifications",
        json={"user_ids": ["bulk-0", "bulk-1", "bulk-2", "no-email"], "title": "Maintenance",
              "category": "billing"},
    )  # fmt: skip
    assert sent.status_code == 201, sent.text
    mail.relay.wait_for(3)
    time.sleep(DELAY + 1.0)
    assert sorted(r.rcpt_tos[0] for r in mail.relay.received) == [
        "bulk0@example.org", "bulk1@example.org", "bulk2@example.org",
    ]  # fmt: skip
    assert len(_out(mail)) == 3  # the user without an address: nothing queued


def test_the_digests_list_unsubscribe_turns_email_off_for_its_categories(mail: Mail) -> None:
    _category(mail, "billing", email=True)
    _category(mail, "status", email=True)
    mail.verified_user("u-12", "lou@example.org")
    _notify(mail, "u-12", "Invoice ready")
    (email,) = mail.relay.wait_for(1)
    address = str(email.message["List-Unsubscribe"]).removeprefix("<mailto:").split("?")[0]
    assert address.endswith("@" + DOMAIN)
    assert len(address.split("@")[0]) <= 64
    # Another address cannot unsubscribe the user.
    forged = EmailMessage()
    forged["From"] = "mallory@example.org"
    forged["To"] = address
    forged["Subject"] = "unsubscribe"
    forged.set_content("unsubscribe")
    with pytest.raises(smtplib.SMTPDataError) as refused:
        mail.send(forged)
    assert refused.value.smtp_code == 550
    stop = EmailMessage()
    stop["From"] = "lou@example.org"
    stop["To"] = address
    stop["Subject"] = "unsubscribe"
    stop.set_content("unsubscribe")
    mail.send(stop)
    reasons = [e["reason"] for e in mail.log() if e["direction"] == "in"]
    assert "sender_mismatch" in reasons
    assert "unsubscribed" in reasons
    prefs = mail.api("GET", "/v1/preferences/u-12").json()["categories"]
    assert prefs["billing"]["email"] is False
    assert prefs["status"]["email"] is True  # not in that digest: untouched
    _notify(mail, "u-12", "Another invoice")
    _notify(mail, "u-12", "Maintenance tonight", category="status")
    second = mail.relay.wait_for(2)[1]
    time.sleep(DELAY + 1.0)
    assert len(mail.relay.received) == 2
    assert "Maintenance tonight" in second.text()
    assert "Another invoice" not in second.text()


def test_a_tampered_unsubscribe_token_is_refused(mail: Mail) -> None:
    _category(mail, "billing", email=True)
    mail.verified_user("u-13", "max@example.org")
    _notify(mail, "u-13", "Invoice ready")
    (email,) = mail.relay.wait_for(1)
    address = str(email.message["List-Unsubscribe"]).removeprefix("<mailto:").split("?")[0]
    local, _, domain = address.partition("@")
    tag = local.rpartition(".")[2]
    flipped = ("b" if tag[0] == "a" else "a") + tag[1:]
    stop = EmailMessage()
    stop["From"] = "max@example.org"
    stop["To"] = f"{local.rpartition('.')[0]}.{flipped}@{domain}"
    stop["Subject"] = "unsubscribe"
    stop.set_content("unsubscribe")
    with pytest.raises(smtplib.SMTPDataError) as refused:
        mail.send(stop)
    assert refused.value.smtp_code == 550
    assert "bad_token" in [e["reason"] for e in mail.log() if e["direction"] == "in"]
    prefs = mail.api("GET", "/v1/preferences/u-13").json()["categories"]
    assert prefs["billing"]["email"] is True


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_claimed_email_never_gets_a_digest(mail: Mail, scenario: str) -> None:
    """As for continuity (test_verified_address_rule): whatever the browser claimed for
    ``claimed-1``, the backend's notifications to that user mail no byte to it."""
    _category(mail, "billing", email=True)
    mode, on_mismatch, identifier, how = SCENARIOS[scenario]
    mail.harness.set_policy(identity_mode=mode, on_mismatch=on_mismatch, identifier=identifier)
    identified = mail.harness.identify(**claim(mail, how))
    assert identified.status_code == 200, identified.text
    _notify(mail, "claimed-1", "For whoever claimed this")
    _notify(mail, CLAIMED_EMAIL, "Addressed by the claimed email as a user id")
    # A verified user, mailed in the same run: the path works.
    mail.harness.set_policy(identity_mode="required", on_mismatch="reject", identifier="user_id")
    mail.verified_user("real-1", "real@example.org")
    _notify(mail, "real-1", "For the real user")
    mail.relay.wait_for(1)
    time.sleep(DELAY + 1.0)
    assert [r.rcpt_tos for r in mail.relay.received] == [["real@example.org"]]
    for received in mail.relay.received:
        assert CLAIMED_EMAIL.encode() not in received.raw
    assert len(_out(mail)) == 1  # nothing was even queued for the claim


def test_the_mail_log_and_the_mail_page_show_a_digest(
    mail: Mail, database_url: str, tmp_path: Path
) -> None:
    _category(mail, "billing", email=True)
    mail.verified_user("u-14", "ned@example.org")
    _notify(mail, "u-14", "One invoice")
    _notify(mail, "u-14", "Two <i>invoices</i>")
    mail.relay.wait_for(1)
    mail.settled()
    location = ["--data-dir", str(tmp_path / "data"), "--database-url", database_url]
    runner = CliRunner(env=CLEAN_ENV)
    shown = runner.invoke(cli, ["mail", "log", mail.app_id, "--json", *location])
    assert shown.exit_code == 0, shown.output
    (entry,) = json.loads(shown.output)["data"]
    assert (entry["kind"], entry["status"], entry["notifications"]) == ("digest", "sent", 2)
    assert entry["subject"] == "2 new notifications from Acme"
    table = runner.invoke(cli, ["mail", "log", mail.app_id, *location])
    assert table.exit_code == 0, table.output
    assert "digest" in table.output
    add_operator(mail.harness, OWNER, "owner", "Olivia Owner")
    login(mail, OWNER)
    page = mail.harness.client.get(f"/dashboard/apps/{mail.app_id}/mail")
    assert page.status_code == 200, page.text
    assert "<td>digest</td>" in page.text
    assert "2 notifications" in page.text
    assert "ned@example.org" in page.text


def test_erasing_the_user_takes_their_pending_digest_with_them(mail: Mail) -> None:
    _delay(mail, SLOW)
    _category(mail, "billing", email=True)
    mail.verified_user("u-15", "oz@example.org")
    _notify(mail, "u-15", "Invoice ready")
    assert [e["status"] for e in _out(mail)] == ["pending"]
    erased = mail.api("DELETE", "/v1/users/u-15")
    assert erased.status_code == 200, erased.text
    assert _out(mail) == []
    time.sleep(SLOW + 1.0)
    assert mail.relay.received == []
