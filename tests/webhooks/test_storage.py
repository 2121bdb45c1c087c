"""The outbox and the delivery queue in the database, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from countersign import messaging
from countersign.context import Backend
from countersign.storage import (
    apps,
    contacts,
    conversations,
    webhook_endpoints,
    webhook_outbox,
    webhook_queue,
)
from countersign.storage.conversations import Draft
from countersign.storage.models import App, Contact, WebhookEndpoint, WebhookEvent
from countersign.vocabulary.clock import utcnow

LEASE = timedelta(seconds=60)


@pytest.fixture
def app_id(backend: Backend) -> str:
    return backend.database.run_sync(lambda c: apps.create_app(c, backend.box, "Acme")).app.id


def _endpoint(
    backend: Backend, app_id: str, *events: str, url: str = "https://example.com/h"
) -> str:
    record, _ = backend.database.run_sync(
        lambda c: webhook_endpoints.create_endpoint(
            c, backend.box, app_id, url, events or ("message.created",)
        )
    )
    return record.id


def _contact(backend: Backend, app_id: str, user_id: str = "u-1") -> str:
    return backend.database.run_sync(
        lambda c: contacts.ensure_verified_contact(c, app_id, user_id, utcnow())
    )


def test_endpoints_round_trip_with_a_sealed_secret(backend: Backend, app_id: str) -> None:
    database = backend.database
    version = database.run_sync(lambda c: apps.get_app(c, app_id).config_version)
    record, secret = database.run_sync(
        lambda c: webhook_endpoints.create_endpoint(
            c, backend.box, app_id, "https://example.com/hook", ["event.tracked", "message.created"]
        )
    )
    assert record.id.startswith("whe_")
    assert secret.startswith("whsec_")
    assert record.event_types == ("message.created", "event.tracked")  # documented order
    assert not record.allow_private_network
    assert record.enabled
    stored = database.run_sync(
        lambda c: c.execute(select(WebhookEndpoint.secret_ciphertext)).scalar_one()
    )
    assert secret.encode() not in stored  # encrypted at rest
    assert (
        database.run_sync(
            lambda c: webhook_endpoints.reveal_signing_secret(c, backend.box, app_id, record.id)
        )
        == secret
    )
    assert [
        r.id for r in database.run_sync(lambda c: webhook_endpoints.list_endpoints(c, app_id))
    ] == [record.id]
    assert database.run_sync(lambda c: webhook_endpoints.subscribed_types(c, app_id)) == {
        "message.created",
        "event.tracked",
    }
    # Every node reloads the app's subscriptions: its config version moved.
    assert database.run_sync(lambda c: apps.get_app(c, app_id).config_version) > version
    database.run_sync(lambda c: webhook_endpoints.remove_endpoint(c, app_id, record.id))
    assert database.run_sync(lambda c: webhook_endpoints.list_endpoints(c, app_id)) == []
    with pytest.raises(webhook_endpoints.EndpointNotFound):
        database.run_sync(lambda c: webhook_endpoints.remove_endpoint(c, app_id, record.id))


@pytest.mark.parametrize(
    ("url", "events", "private", "message"),
    [
        ("https://example.com/h", ["message.deleted"], False, "unknown event type"),
        ("https://example.com/h", [], False, "at least one"),
        ("ftp://example.com/h", ["message.created"], False, "http:// or https://"),
        ("http://127.0.0.1:9/h", ["message.created"], False, "allow-private-network"),
        ("http://10.1.2.3/h", ["message.created"], False, "not a public address"),
        ("http://localhost:8000/h", ["message.created"], False, "loopback"),
        ("https://user:pw@example.com/h", ["message.created"], True, "credentials"),
    ],
)
def test_bad_endpoints_are_refused(
    backend: Backend, app_id: str, url: str, events: list[str], private: bool, message: str
) -> None:
    with pytest.raises(webhook_endpoints.InvalidEndpoint, match=message):
        backend.database.run_sync(
            lambda c: webhook_endpoints.create_endpoint(
                c, backend.box, app_id, url, events, allow_private_network=private
            )
        )


def test_a_private_url_is_accepted_when_allowed(backend: Backend, app_id: str) -> None:
    record, _ = backend.database.run_sync(
        lambda c: webhook_endpoints.create_endpoint(
            c,
            backend.box,
            app_id,
            "http://127.0.0.1:9/h",
            ["message.created"],
            allow_private_network=True,
        )
    )
    assert record.allow_private_network


def test_nothing_is_written_without_a_subscriber(backend: Backend, app_id: str) -> None:
    contact = _contact(backend, app_id)
    _endpoint(backend, app_id, "event.tracked")  # listens to something else
    now = utcnow()

    def post(connection: object) -> conversations.Posted:
        conversation, _ = messaging.start_conversation(connection, app_id, contact, now)  # type: ignore[arg-type]
        return messaging.post_message(
            connection,  # type: ignore[arg-type]
            app_id=app_id,
            contact_id=contact,
            conversation_id=conversation["id"],
            draft=Draft("contact", None, "hi"),
            now=now,
        )

    backend.database.run_sync(post)
    events = backend.database.run_sync(lambda c: c.execute(select(WebhookEvent)).all())
    assert events == []


def test_a_retried_send_is_enqueued_once(backend: Backend, app_id: str) -> None:
    _endpoint(backend, app_id, "message.created")
    contact = _contact(backend, app_id)
    now = utcnow()
    conversation = backend.database.run_sync(
        lambda c: messaging.start_conversation(c, app_id, contact, now)
    )[0]

    def send(connection: object) -> conversations.Posted:
        return messaging.post_message(
            connection,  # type: ignore[arg-type]
            app_id=app_id,
            contact_id=contact,
            conversation_id=conversation["id"],
            draft=Draft("contact", None, "once", "c-1"),
            now=now,
        )

    first = backend.database.run_sync(send)
    again = backend.database.run_sync(send)
    assert first.created
    assert not again.created
    rows = backend.database.run_sync(lambda c: webhook_outbox.list_deliveries(c, app_id))
    assert len(rows) == 1
    assert rows[0]["event_type"] == "message.created"


def test_the_outbox_rolls_back_with_the_change(backend: Backend, app_id: str) -> None:
    _endpoint(backend, app_id, "event.tracked")
    contact = _contact(backend, app_id)

    def track_then_fail(connection: object) -> None:
        messaging.track_event(
            connection,  # type: ignore[arg-type]
            app_id=app_id,
            contact_id=contact,
            name="x",
            properties={},
            now=utcnow(),
        )
        raise RuntimeError("the change fails after the event was enqueued")

    with pytest.raises(RuntimeError):
        backend.database.run_sync(track_then_fail)
    assert backend.database.run_sync(lambda c: webhook_outbox.list_deliveries(c, app_id)) == []


def test_payloads_carry_the_contact_and_never_an_unverified_claim(
    backend: Backend, app_id: str
) -> None:
    _endpoint(backend, app_id, "event.tracked")
    verified = _contact(backend, app_id, "u-42")
    # An unverified contact keeps what the browser claimed, for the operator's eyes.
    backend.database.run_sync(
        lambda c: c.execute(
            insert(Contact).values(
                id="con_unverified",
                app_id=app_id,
                user_id="claimed-9",
                email="c@x.org",
                verified=False,
                metadata_={"user_id": "claimed-9"},
                attributes={},
            )
        )
    )
    now = utcnow()
    for contact in (verified, "con_unverified"):
        backend.database.run_sync(
            lambda c, contact=contact: messaging.track_event(
                c, app_id=app_id, contact_id=contact, name="paid", properties={"n": 1}, now=now
            )
        )
    rows = backend.database.run_sync(
        lambda c: c.execute(select(WebhookEvent).order_by(WebhookEvent.created_at)).all()
    )
    data = {row.data["contact"]["id"]: row.data for row in rows}
    assert all(row.type == "event.tracked" and row.id.startswith("evt_") for row in rows)
    assert data[verified]["contact"] == {
        "id": verified,
        "verified": True,
        "user_id": "u-42",
        "email": None,
    }
    assert data[verified]["identity"] == {"status": "verified"}
    assert data[verified]["event"]["name"] == "paid"
    assert data["con_unverified"]["contact"] == {
        "id": "con_unverified",
        "verified": False,
        "user_id": None,
        "email": None,
    }
    assert data["con_unverified"]["identity"] == {"status": "unverified"}
    assert "claimed-9" not in json.dumps(data["con_unverified"])
    assert "c@x.org" not in json.dumps(data["con_unverified"])


def test_claims_go_to_one_node_and_respect_endpoint_order(backend: Backend, app_id: str) -> None:
    first = _endpoint(backend, app_id, "event.tracked")
    second = _endpoint(backend, app_id, "event.tracked")
    contact = _contact(backend, app_id)
    now = utcnow()
    for name in ("a", "b", "c"):
        backend.database.run_sync(
            lambda c, name=name: messaging.track_event(
                c, app_id=app_id, contact_id=contact, name=name, properties={}, now=now
            )
        )
    database = backend.database
    claimed = database.run_sync(lambda c: webhook_queue.claim_due(c, now, LEASE))
    # Only the oldest open delivery of each endpoint: "a", once per endpoint.
    assert sorted((item.endpoint_id, item.data["event"]["name"]) for item in claimed) == sorted(
        [(first, "a"), (second, "a")]
    )
    assert all(item.attempt == 1 for item in claimed)
    # Leased: another node claiming at the same moment gets nothing.
    assert database.run_sync(lambda c: webhook_queue.claim_due(c, now, LEASE)) == []
    later = now + timedelta(seconds=1)
    ok = webhook_queue.AttemptOutcome(200, None, 5, True, None)
    failed = webhook_queue.AttemptOutcome(503, None, 5, False, later + timedelta(seconds=10))
    by_endpoint = {item.endpoint_id: item for item in claimed}
    database.run_sync(lambda c: webhook_queue.finish_attempt(c, by_endpoint[first], ok, later))
    database.run_sync(lambda c: webhook_queue.finish_attempt(c, by_endpoint[second], failed, later))
    # The first endpoint moves on to "b"; the second waits for its retry of "a".
    claimed = database.run_sync(lambda c: webhook_queue.claim_due(c, later, LEASE))
    assert [(item.endpoint_id, item.data["event"]["name"]) for item in claimed] == [(first, "b")]
    retry = later + timedelta(seconds=11)
    claimed = database.run_sync(lambda c: webhook_queue.claim_due(c, retry, LEASE))
    assert [(i.endpoint_id, i.data["event"]["name"], i.attempt) for i in claimed] == [
        (second, "a", 2)
    ]
    # A lease that ran out (its node died) is taken over, as the next attempt.
    expired = retry + LEASE + timedelta(seconds=1)
    claimed = database.run_sync(lambda c: webhook_queue.claim_due(c, expired, LEASE))
    assert sorted((i.endpoint_id, i.data["event"]["name"], i.attempt) for i in claimed) == sorted(
        [(first, "b", 2), (second, "a", 3)]
    )
    # The old holder's late report is logged, but no longer settles the delivery.
    stale = by_endpoint[second]
    database.run_sync(lambda c: webhook_queue.finish_attempt(c, stale, ok, expired))
    rows = database.run_sync(
        lambda c: webhook_outbox.list_deliveries(c, app_id, endpoint_id=second)
    )
    head = min(rows, key=lambda row: row["id"])
    assert head["status"] == "failed"
    assert head["attempts"] == 3
    assert [entry["attempt"] for entry in head["log"]] == [1, 1]


def test_dead_and_delivered_rows_leave_the_queue(backend: Backend, app_id: str) -> None:
    _endpoint(backend, app_id, "event.tracked")
    contact = _contact(backend, app_id)
    now = utcnow()
    backend.database.run_sync(
        lambda c: messaging.track_event(
            c, app_id=app_id, contact_id=contact, name="x", properties={}, now=now
        )
    )
    (claimed,) = backend.database.run_sync(lambda c: webhook_queue.claim_due(c, now, LEASE))
    dead = webhook_queue.AttemptOutcome(None, "connect_failed: refused", 3, False, None)
    backend.database.run_sync(lambda c: webhook_queue.finish_attempt(c, claimed, dead, now))
    later = now + timedelta(hours=1)
    assert backend.database.run_sync(lambda c: webhook_queue.claim_due(c, later, LEASE)) == []
    (row,) = backend.database.run_sync(lambda c: webhook_outbox.list_deliveries(c, app_id))
    assert row["status"] == "dead"
    assert row["last_error"] == "connect_failed: refused"
    assert row["next_attempt_at"] is None
    # A manual redeliver queues it again, as a new delivery of the same event.
    queued = backend.database.run_sync(
        lambda c: webhook_outbox.redeliver(c, app_id, claimed.event_id, now=later)
    )
    again = backend.database.run_sync(
        lambda c: webhook_outbox.redeliver(c, app_id, claimed.event_id)
    )
    assert queued == again  # still open: reused, not doubled
    (retry,) = backend.database.run_sync(lambda c: webhook_queue.claim_due(c, later, LEASE))
    assert retry.event_id == claimed.event_id
    assert retry.attempt == 1


def test_a_redelivery_during_the_attempt_is_not_lost(backend: Backend, app_id: str) -> None:
    """Redelivering an event whose delivery is in flight (its POST may already have been
    answered) queues a new delivery instead of reusing the one about to settle."""
    _endpoint(backend, app_id, "event.tracked")
    contact = _contact(backend, app_id)
    now = utcnow()
    backend.database.run_sync(
        lambda c: messaging.track_event(
            c, app_id=app_id, contact_id=contact, name="x", properties={}, now=now
        )
    )
    (in_flight,) = backend.database.run_sync(lambda c: webhook_queue.claim_due(c, now, LEASE))
    (queued,) = backend.database.run_sync(
        lambda c: webhook_outbox.redeliver(c, app_id, in_flight.event_id, now=now)
    )
    assert queued != in_flight.delivery_id
    ok = webhook_queue.AttemptOutcome(200, None, 5, True, None)
    backend.database.run_sync(lambda c: webhook_queue.finish_attempt(c, in_flight, ok, now))
    (again,) = backend.database.run_sync(lambda c: webhook_queue.claim_due(c, now, LEASE))
    assert (again.delivery_id, again.event_id) == (queued, in_flight.event_id)


def test_removing_an_app_removes_its_webhooks(backend: Backend, app_id: str) -> None:
    _endpoint(backend, app_id, "event.tracked")
    backend.database.run_sync(lambda c: c.execute(App.__table__.delete()))
    assert backend.database.run_sync(lambda c: c.execute(select(WebhookEndpoint)).all()) == []


def test_an_endpoint_removed_mid_attempt_is_no_error(backend: Backend, app_id: str) -> None:
    endpoint = _endpoint(backend, app_id, "event.tracked")
    contact = _contact(backend, app_id)
    now = utcnow()
    backend.database.run_sync(
        lambda c: messaging.track_event(
            c, app_id=app_id, contact_id=contact, name="x", properties={}, now=now
        )
    )
    (claimed,) = backend.database.run_sync(lambda c: webhook_queue.claim_due(c, now, LEASE))
    backend.database.run_sync(lambda c: webhook_endpoints.remove_endpoint(c, app_id, endpoint))
    ok = webhook_queue.AttemptOutcome(200, None, 5, True, None)
    backend.database.run_sync(lambda c: webhook_queue.finish_attempt(c, claimed, ok, now))
    assert backend.database.run_sync(lambda c: webhook_outbox.list_deliveries(c, app_id)) == []
