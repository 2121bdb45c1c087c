"""Webhook fixtures: a real receiver, and in-process servers whose retries are fast."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from sqlalchemy import Connection

from countersign import sign
from countersign.storage import webhook_endpoints, webhook_outbox
from countersign.vocabulary.webhook_events import EVENT_TYPES
from tests.server.conftest import Harness, make_harness
from tests.webhooks.receiver import Receiver

__all__ = ["FAST", "Hooked", "add_endpoint", "make_harness", "run_db"]

T = TypeVar("T")

#: Retries within a fraction of a second, so a test can watch several.
FAST = {
    "webhook_backoff_base": 0.05,
    "webhook_backoff_cap": 0.3,
    "webhook_poll_seconds": 0.1,
}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Hooked:
    """A running server whose app has one endpoint pointing at the receiver."""

    harness: Harness
    receiver: Receiver
    endpoint_id: str
    signing_secret: str

    @property
    def app_id(self) -> str:
        return self.harness.app_id

    def deliveries(self, **filters: Any) -> list[dict[str, Any]]:
        return run_db(
            self.harness,
            lambda c: webhook_outbox.list_deliveries(c, self.app_id, limit=500, **filters),
        )

    def session(self, user_id: str | None = None, **fields: Any) -> dict[str, str]:
        """Identify (verified when ``user_id`` is given) and return session headers."""
        harness = self.harness
        if user_id is not None:
            fields = {"user_id": user_id, "user_hash": sign(harness.secret, user_id), **fields}
        response = harness.identify(**fields)
        assert response.status_code == 200, response.text
        return harness.session_headers(response.json()["session_token"])


def run_db(harness: Harness, work: Callable[[Connection], T]) -> T:
    """``work`` on the server's event loop. On SQLite the server shares one connection
    between its loop and anything else in the process, so a test must not use it from
    its own thread while the delivery worker runs."""
    return harness.client.portal.call(harness.backend.database.run, work)  # type: ignore[union-attr]


def add_endpoint(
    harness: Harness,
    url: str,
    events: tuple[str, ...] = EVENT_TYPES,
    signature_format: str = "countersign",
) -> tuple[str, str]:
    """An endpoint of the harness's app (private network allowed: tests run on
    127.0.0.1), with every node's cached subscriptions dropped at once."""
    record, secret = run_db(
        harness,
        lambda c: webhook_endpoints.create_endpoint(
            c,
            harness.backend.box,
            harness.app_id,
            url,
            events,
            allow_private_network=True,
            signature_format=signature_format,
        ),
    )
    harness.client.app.state.countersign.directory.invalidate(harness.app_id)  # type: ignore[attr-defined]
    return record.id, secret


@pytest.fixture
def hooked(make_harness: Callable[..., Harness], receiver: Receiver) -> Hooked:
    harness = make_harness(**FAST)
    endpoint_id, secret = add_endpoint(harness, receiver.url)
    return Hooked(harness, receiver, endpoint_id, secret)
