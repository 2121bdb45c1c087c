"""Deliveries to a real receiver: signed, complete, ordered, retried with backoff."""

from __future__ import annotations

import asyncio
import itertools
import socket
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from countersign import messaging, sign
from countersign.context import open_backend
from countersign.outbound import OutboundClient, is_public_address
from countersign.settings import load_settings
from countersign.storage import (
    apps,
    contacts,
    webhook_endpoints,
    webhook_outbox,
    webhook_queue,
)
from countersign.vocabulary.addresses import parse_address
from countersign.vocabulary.clock import utcnow
from countersign.webhooks import WebhookVerificationError, verify
from countersign.webhooks.delivery import INTERRUPTED, DeliveryWorker
from tests.server.conftest import Harness
from tests.webhooks.conftest import FAST, Hooked, add_endpoint, run_db
from tests.webhooks.receiver import Receiver

LEASE_FOR_TEST = timedelta(seconds=60)


def _post(hooked: Hooked, headers: dict[str, str], conversation_id: str, body: str) -> None:
    response = hooked.harness.client.post(
        f"/v1/widget/conversations/{conversation_id}/messages",
        json={"body": body},
        headers=headers,
    )
    assert response.status_code == 201, response.text


def test_deliveries_arrive_signed_and_verify(hooked: Hooked) -> None:
    headers = hooked.session("user-1")
    response = hooked.harness.client.post(
        "/v1/widget/conversations", json={"body": "héllo ✓"}, headers=headers
    )
    assert response.status_code == 201, response.text
    got = hooked.receiver.wait_for(lambda r: len(r) >= 3)
    types = [item.headers["x-countersign-event-type"] for item in got]
    assert types == ["contact.identified", "conversation.created", "message.created"]
    for item in got:
        assert verify(item.body, item.headers["x-countersign-signature"], hooked.signing_secret)
        document = item.json()
        assert document["id"] == item.event_id
        assert document["type"] == item.headers["x-countersign-event-type"]
        assert document["app_id"] == hooked.app_id
        assert item.headers["user-agent"].startswith("Countersign-Webhooks/")
        assert item.headers["content-type"] == "application/json"
    message = got[2].json()["data"]
    assert message["message"]["body"] == "héllo ✓"
    assert message["contact"]["user_id"] == "user-1"
    assert message["identity"] == {"status": "verified"}

    item = got[2]
    header = item.headers["x-countersign-signature"]
    with pytest.raises(WebhookVerificationError) as tampered:
        verify(item.body.replace("héllo".encode(), b"hello"), header, hooked.signing_secret)
    assert tampered.value.code == "signature_mismatch"
    with pytest.raises(WebhookVerificationError) as replayed:
        verify(item.body, header, hooked.signing_secret, now=time.time() + 301)
    assert replayed.value.code == "timestamp_outside_tolerance"
    with pytest.raises(WebhookVerificationError):
        verify(item.body, header, "whsec_someone_else")


def _start_conversation(hooked: Hooked, headers: dict[str, str], body: str) -> str:
    response = hooked.harness.client.post(
        "/v1/widget/conversations", json={"body": body}, headers=headers
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _all_settled(hooked: Hooked, count: int) -> bool:
    rows = hooked.deliveries()
    return len(rows) == count and all(row["status"] == "delivered" for row in rows)


def test_an_outage_loses_nothing_and_keeps_the_order(hooked: Hooked) -> None:
    receiver = hooked.receiver
    receiver.stop()  # connections are refused from now on
    headers = hooked.session("user-7")
    conversation_id = _start_conversation(hooked, headers, "m1")
    for n in range(2, 6):
        _post(hooked, headers, conversation_id, f"m{n}")

    def head_attempts() -> int:
        rows = hooked.deliveries()
        return max((row["attempts"] for row in rows), default=0)

    deadline = time.monotonic() + 15
    while head_attempts() < 3:
        assert time.monotonic() < deadline, "the worker did not retry"
        time.sleep(0.05)
    receiver.status = 500  # up, but failing
    receiver.start()
    receiver.wait_for(lambda got: len(got) >= 2)
    receiver.status = 200
    deadline = time.monotonic() + 20
    while not _all_settled(hooked, 7):
        assert time.monotonic() < deadline, hooked.deliveries()
        time.sleep(0.05)

    rows = hooked.deliveries()
    enqueued = [row["event_id"] for row in sorted(rows, key=lambda row: row["id"])]
    received = receiver.snapshot()
    # Every event arrived; after de-duplication by event id, each exactly once.
    assert {item.event_id for item in receiver.delivered()} == set(enqueued)
    assert len({item.event_id for item in received}) == len(enqueued)
    # One endpoint, one event at a time: an event is never sent before every earlier
    # one was delivered, so the arrival sequence only ever moves forward.
    positions = [enqueued.index(item.event_id) for item in received]
    assert positions == sorted(positions)
    bodies = [
        item.json()["data"]["message"]["body"]
        for item in receiver.delivered()
        if item.headers["x-countersign-event-type"] == "message.created"
    ]
    assert bodies == ["m1", "m2", "m3", "m4", "m5"]

    # The log shows the outage: refused connections, then the 500s, then the 200.
    head = min(rows, key=lambda row: row["id"])
    log = head["log"]
    assert [entry["attempt"] for entry in log] == list(range(1, len(log) + 1))
    assert log[0]["error"].startswith("connect_failed")
    assert any(entry["status_code"] == 500 for entry in log)
    assert log[-1]["status_code"] == 200
    assert log[-1]["error"] is None
    assert head["last_status_code"] == 200
    assert head["delivered_at"]
    # Backoff: each retry waited at least half its exponential step (the jitter's floor).
    times = [_seconds(entry["at"]) for entry in log]
    for n, (before, after) in enumerate(itertools.pairwise(times), start=1):
        assert after - before >= 0.5 * min(0.3, 0.05 * 2 ** (n - 1)) - 0.005, (n, log)


def _seconds(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def test_a_slow_endpoint_does_not_slow_the_request(hooked: Hooked) -> None:
    hooked.receiver.delay = 3.0
    headers = hooked.session()
    started = time.monotonic()
    _start_conversation(hooked, headers, "are you there?")
    assert time.monotonic() - started < 1.0
    # Shutting down with a POST in flight abandons it (logged as interrupted) rather
    # than waiting for the endpoint.


def test_redeliver_sends_the_same_event_again(hooked: Hooked) -> None:
    headers = hooked.session("user-9")
    _start_conversation(hooked, headers, "hello")
    first = hooked.receiver.wait_for(lambda got: len(got) >= 3)[2]
    queued = run_db(
        hooked.harness, lambda c: webhook_outbox.redeliver(c, hooked.app_id, first.event_id)
    )
    assert len(queued) == 1
    again = hooked.receiver.wait_for(lambda got: len(got) >= 4)[3]
    assert again.event_id == first.event_id
    assert again.body == first.body  # the same bytes, so a receiver's dedup holds
    assert verify(again.body, again.headers["x-countersign-signature"], hooked.signing_secret)
    # The receiver records a request before it answers: the worker settles it after.
    deadline = time.monotonic() + 10
    while [row["status"] for row in hooked.deliveries(event_id=first.event_id)] != [
        "delivered",
        "delivered",
    ]:
        assert time.monotonic() < deadline, hooked.deliveries(event_id=first.event_id)
        time.sleep(0.05)


def test_unknown_event_or_endpoint_cannot_be_redelivered(hooked: Hooked) -> None:
    with pytest.raises(webhook_outbox.EventNotFound):
        run_db(hooked.harness, lambda c: webhook_outbox.redeliver(c, hooked.app_id, "evt_nope"))


def test_a_dead_delivery_lets_the_next_one_go(
    make_harness: Callable[..., Harness], receiver: Receiver
) -> None:
    harness = make_harness(**FAST, webhook_max_attempts=3)
    endpoint_id, _ = add_endpoint(harness, receiver.url, ("event.tracked",))
    hooked = Hooked(harness, receiver, endpoint_id, "")
    receiver.next_statuses = [500, 500, 500]  # every attempt of the first event
    headers = hooked.session()
    for name in ("first", "second"):
        response = harness.client.post("/v1/widget/events", json={"name": name}, headers=headers)
        assert response.status_code == 201, response.text
    received = receiver.wait_for(lambda got: len(got) >= 4)
    names = [item.json()["data"]["event"]["name"] for item in received]
    assert names == ["first", "first", "first", "second"]

    def settled() -> list[tuple[str, int]]:
        rows = sorted(hooked.deliveries(), key=lambda row: row["id"])
        return [(row["status"], row["attempts"]) for row in rows]

    # The receiver records a request before it answers: the worker settles it after.
    deadline = time.monotonic() + 10
    while settled() != [("dead", 3), ("delivered", 1)]:
        assert time.monotonic() < deadline, settled()
        time.sleep(0.05)


def _private_name() -> str | None:
    """This machine's host name when it resolves to a non-public address only."""
    name = socket.gethostname()
    try:
        infos = socket.getaddrinfo(name, 80, type=socket.SOCK_STREAM)
    except OSError:
        return None
    addresses = [parse_address(str(info[4][0])) for info in infos]
    if not addresses or any(a is None or is_public_address(a) for a in addresses):
        return None
    return name


def test_a_private_address_is_a_logged_failure_not_a_crash(
    make_harness: Callable[..., Harness], receiver: Receiver
) -> None:
    name = _private_name()
    if name is None:
        pytest.skip("this machine's host name does not resolve to a private address")
    harness = make_harness(**FAST, webhook_max_attempts=2)
    url = f"http://{name}:{receiver.port}/hooks"
    # A host name passes the check at definition time; what it resolves to is
    # checked at each delivery.
    run_db(
        harness,
        lambda c: webhook_endpoints.create_endpoint(
            c, harness.backend.box, harness.app_id, url, ("event.tracked",)
        ),
    )
    harness.client.app.state.countersign.directory.invalidate(harness.app_id)  # type: ignore[attr-defined]
    hooked = Hooked(harness, receiver, "", "")
    response = harness.client.post(
        "/v1/widget/events", json={"name": "x"}, headers=hooked.session()
    )
    assert response.status_code == 201
    deadline = time.monotonic() + 10
    while not [row for row in hooked.deliveries() if row["status"] == "dead"]:
        assert time.monotonic() < deadline, hooked.deliveries()
        time.sleep(0.05)
    (row,) = hooked.deliveries()
    assert all(entry["error"].startswith("private_address") for entry in row["log"])
    assert receiver.snapshot() == []


def test_stopping_abandons_a_post_in_flight_and_retries_it(
    database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    settings = load_settings(environ={}, data_dir=tmp_path, database_url=database_url, **FAST)
    backend = open_backend(settings)
    database = backend.database
    try:
        app_id = database.run_sync(lambda c: apps.create_app(c, backend.box, "A")).app.id
        database.run_sync(
            lambda c: webhook_endpoints.create_endpoint(
                c,
                backend.box,
                app_id,
                receiver.url,
                ["event.tracked"],
                allow_private_network=True,
            )
        )
        contact = database.run_sync(
            lambda c: contacts.ensure_verified_contact(c, app_id, "u", utcnow())
        )
        database.run_sync(
            lambda c: messaging.track_event(
                c, app_id=app_id, contact_id=contact, name="x", properties={}, now=utcnow()
            )
        )
        receiver.delay = 10.0

        async def run() -> float:
            stop = asyncio.Event()
            async with OutboundClient() as client:
                worker = DeliveryWorker(database, backend.box, client, settings)
                task = asyncio.create_task(worker.run_until(stop))
                while not receiver.snapshot():
                    await asyncio.sleep(0.02)
                started = time.monotonic()
                stop.set()
                await task
                return time.monotonic() - started

        assert asyncio.run(run()) < 2.0  # not the endpoint's 10 seconds
        (row,) = database.run_sync(lambda c: webhook_outbox.list_deliveries(c, app_id))
        assert row["status"] == "failed"
        assert row["log"][-1]["error"] == INTERRUPTED
        # Due again at once (no backoff): the next worker to run sends it.
        claimed = database.run_sync(lambda c: webhook_queue.claim_due(c, utcnow(), LEASE_FOR_TEST))
        assert [item.attempt for item in claimed] == [2]
    finally:
        backend.close()


def test_an_event_enqueued_here_goes_out_at_once_not_at_the_next_poll(
    make_harness: Callable[..., Harness], receiver: Receiver
) -> None:
    """The worker sleeps ``webhook_poll_seconds`` between rounds (for events written by
    other nodes); one written by this node wakes it when its transaction commits. On
    SQLite that wake once never came: the hook was a pool check-in, and the one
    connection the process holds is never checked in, so every event waited a poll."""
    harness = make_harness(webhook_poll_seconds=30.0)
    add_endpoint(harness, receiver.url, events=("contact.identified",))
    time.sleep(0.3)  # the worker's first round (at its start) is over: it sleeps now
    started = time.monotonic()
    response = harness.identify(user_id="user-1", user_hash=sign(harness.secret, "user-1"))
    assert response.status_code == 200, response.text
    got = receiver.wait_for(lambda r: len(r) >= 1, timeout=10.0)
    assert got[0].headers["x-countersign-event-type"] == "contact.identified"
    assert time.monotonic() - started < 5.0
