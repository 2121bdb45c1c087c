"""Operators' email (SPEC 12): a new conversation, and a contact's reply in a
conversation assigned to them, reach them by email when no dashboard of theirs is
open; each can turn it off."""

from __future__ import annotations

import time

from sqlalchemy import update

from countersign.storage.models import Operator
from tests.mail.conftest import DELAY, Mail
from tests.server.dashboard.conftest import (  # fast_passwords: cheap argon2 here too
    AGENT,
    OWNER,
    add_operator,
    csrf_of,
    fast_passwords,  # noqa: F401
)


def _team(mail: Mail) -> tuple[str, str]:
    owner = add_operator(mail.harness, OWNER, "owner", "Olivia Owner")
    agent = add_operator(mail.harness, AGENT, "agent", "Aaron Agent")
    return owner.id, agent.id


def _switch(mail: Mail, operator_id: str, on: bool) -> None:
    mail.harness.backend.database.run_sync(
        lambda c: c.execute(
            update(Operator).where(Operator.id == operator_id).values(email_notifications=on)
        )
    )


def test_a_new_conversation_mails_every_operator_who_wants_it(mail: Mail) -> None:
    _owner, agent = _team(mail)
    _switch(mail, agent, False)
    token = mail.harness.verified("visitor-1")["session_token"]
    mail.start_conversation(token, "My order never came <b>help</b>")
    (email,) = mail.relay.wait_for(1)
    time.sleep(DELAY + 0.5)
    assert [r.rcpt_tos for r in mail.relay.received] == [[OWNER]]
    assert "New conversation" in str(email.message["Subject"])
    assert "My order never came" in email.text()
    assert "<b>help</b>" not in email.html()


def test_a_reply_in_an_assigned_conversation_mails_the_assignee_only(mail: Mail) -> None:
    _team(mail)
    token = mail.harness.verified("visitor-2")["session_token"]
    conversation = mail.start_conversation(token, "First")
    mail.relay.wait_for(2)  # the new conversation, to both
    assigned = mail.api(
        "PATCH", f"/v1/conversations/{conversation}", json={"assignee_email": AGENT}
    )
    assert assigned.status_code == 200, assigned.text
    sent = mail.harness.client.post(
        f"/v1/widget/conversations/{conversation}/messages", json={"body": "Any news?"},
        headers=mail.harness.session_headers(token),
    )  # fmt: skip
    assert sent.status_code == 201, sent.text
    third = mail.relay.wait_for(3)[2]
    time.sleep(DELAY + 0.5)
    assert len(mail.relay.received) == 3
    assert third.rcpt_tos == [AGENT]
    assert "replied" in str(third.message["Subject"])


def test_an_open_dashboard_means_no_email(mail: Mail) -> None:
    _team(mail)
    client = mail.harness.client
    form = client.get("/dashboard/login")
    logged = client.post(
        "/dashboard/login",
        data={
            "email": OWNER,
            "password": "correct horse battery staple",
            "csrf_token": csrf_of(form.text),
        },
        follow_redirects=False,
    )
    assert logged.status_code == 303, logged.text
    page = client.get(f"/dashboard/apps/{mail.app_id}/inbox")
    with client.websocket_connect(f"/dashboard/apps/{mail.app_id}/live") as live:
        live.send_json({"csrf": csrf_of(page.text)})
        assert live.receive_json()["type"] in ("ready", "resync")
        token = mail.harness.verified("visitor-3")["session_token"]
        mail.start_conversation(token, "Hello?")
        mail.relay.wait_for(1)  # the agent, who has no dashboard open
        time.sleep(DELAY + 0.5)
        assert [r.rcpt_tos for r in mail.relay.received] == [[AGENT]]
    reasons = {e["reason"] for e in mail.log() if e["direction"] == "out"}
    assert "dashboard_open" in reasons
