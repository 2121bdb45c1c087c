"""A server with email on: a real relay (aiosmtpd) it sends to, its own SMTP receiver
on a free port, short delays, and helpers to play the user, the operator and the
user's mail client."""

from __future__ import annotations

import smtplib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import pytest

from countersign.storage import mail_outbox, mail_settings
from tests.mail.relay import Received, Relay
from tests.realtime.conftest import free_port
from tests.server.conftest import Harness, make_harness  # noqa: F401  (a fixture)

DOMAIN = "in.acme.test"
DELAY = 1  # email_delay in seconds for these tests
FAST: dict[str, Any] = {
    "inbound_domain": DOMAIN,
    "mail_from": "Acme Support <support@acme.test>",
    "mail_poll_seconds": 0.05,
    "presence_seconds": 0.2,
    "mail_backoff_base": 0.2,
}


@dataclass
class Mail:
    """The harness, its relay and what the tests do with them."""

    harness: Harness
    relay: Relay
    smtp_port: int

    @property
    def app_id(self) -> str:
        return self.harness.app_id

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.harness.api_key}"}
        return self.harness.client.request(method, path, headers=headers, **kwargs)

    def verified_user(self, user_id: str, email: str) -> str:
        """A user whose email the backend stated (PUT /v1/users): their session token."""
        assert self.api("PUT", f"/v1/users/{user_id}", json={"email": email}).status_code == 200
        return str(self.harness.verified(user_id)["session_token"])

    def start_conversation(self, token: str, body: str = "Hello, I need help") -> str:
        started = self.harness.client.post(
            "/v1/widget/conversations", json={"body": body},
            headers=self.harness.session_headers(token),
        )  # fmt: skip
        assert started.status_code == 201, started.text
        return str(started.json()["id"])

    def answer(
        self, conversation_id: str, body: str, name: str = "Ann", kind: str = "operator"
    ) -> None:
        sent = self.api(
            "POST", f"/v1/conversations/{conversation_id}/messages",
            json={"body": body, "author": {"type": kind, "name": name}},
        )  # fmt: skip
        assert sent.status_code == 201, sent.text

    def messages(self, conversation_id: str) -> list[dict[str, Any]]:
        listed = self.api("GET", f"/v1/conversations/{conversation_id}/messages")
        assert listed.status_code == 200, listed.text
        return list(listed.json()["data"])

    def log(self) -> list[dict[str, Any]]:
        return self.harness.backend.database.run_sync(
            lambda c: mail_outbox.mail_log(c, self.app_id, 100)
        )

    def settled(self, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The outbound log once no email is pending any more."""
        deadline = time.monotonic() + timeout
        while True:
            out = [e for e in self.log() if e["direction"] == "out"]
            if out and all(e["status"] != "pending" for e in out):
                return out
            if time.monotonic() > deadline:
                raise AssertionError(f"emails still pending: {out}")
            time.sleep(0.05)

    def send(
        self, message: EmailMessage, *, sender: str | None = None, to: list[str] | None = None
    ) -> None:
        """Send ``message`` to the built-in receiver, as a mail server would."""
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=10) as client:
            client.send_message(message, from_addr=sender, to_addrs=to)

    def reply_to(self, received: Received, body: str, *, sender: str) -> EmailMessage:
        """What a mail client makes of "Reply" on ``received``."""
        original = received.message
        reply = EmailMessage()
        reply["From"] = sender
        reply["To"] = str(original["Reply-To"])
        reply["Subject"] = "Re: " + str(original["Subject"])
        reply["Message-ID"] = f"<reply-{time.monotonic_ns()}@mail.example.org>"
        reply["In-Reply-To"] = str(original["Message-ID"])
        reply["References"] = str(original["Message-ID"])
        reply.set_content(body)
        return reply


@pytest.fixture
def make_mail(make_harness: Callable[..., Harness]) -> Iterator[Callable[..., Mail]]:  # noqa: F811
    relays: list[Relay] = []

    def build(**overrides: Any) -> Mail:
        relay = Relay()
        relay.start()
        relays.append(relay)
        port = free_port()
        harness = make_harness(**{**FAST, "smtp_url": relay.url, "smtp_port": port, **overrides})
        harness.backend.database.run_sync(
            lambda c: mail_settings.set_email_delay(c, harness.app_id, DELAY)
        )
        return Mail(harness, relay, port)

    yield build
    for relay in relays:
        relay.stop()


@pytest.fixture
def mail(make_mail: Callable[..., Mail]) -> Mail:
    return make_mail()
