"""Retention of the webhook outbox on SQLite and PostgreSQL: settled events go once old,
with their deliveries and attempts; an event still owed to an endpoint never goes."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, func, insert, select, update

from countersign import retention
from countersign.context import Backend
from countersign.server import app as server_app
from countersign.settings import SettingsError, load_settings
from countersign.storage import apps, webhook_endpoints, webhook_outbox
from countersign.storage.database import Database
from countersign.storage.models import WebhookAttempt, WebhookDelivery, WebhookEvent
from countersign.vocabulary.clock import utcnow
from tests.server.conftest import Harness, wait_for
from tests.webhooks.conftest import run_db

NOW = utcnow()
OLD = timedelta(days=40)
RECENT = timedelta(days=2)
CUTOFF = NOW - timedelta(days=30)


@pytest.fixture
def app_id(backend: Backend) -> str:
    """An app with two endpoints, so each event has two deliveries."""
    box = backend.box
    created = backend.database.run_sync(lambda c: apps.create_app(c, box, "Acme")).app.id
    for n in (1, 2):
        backend.database.run_sync(
            lambda c, n=n: webhook_endpoints.create_endpoint(
                c, box, created, f"https://example.com/h{n}", ["message.created"]
            )
        )
    return created


def add_event(database: Database, app_id: str, age: timedelta, *statuses: str) -> str:
    """An event written ``age`` ago whose deliveries (one per endpoint) are in
    ``statuses``, each with one attempt logged."""

    def work(c: Connection) -> str:
        at = NOW - age
        event_id = webhook_outbox.enqueue(c, app_id, "message.created", {"n": 1}, at)
        assert event_id is not None
        deliveries = c.execute(
            select(WebhookDelivery.id)
            .where(WebhookDelivery.event_id == event_id)
            .order_by(WebhookDelivery.id)
        ).scalars()
        for delivery_id, status in zip(list(deliveries), statuses, strict=True):
            c.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == delivery_id)
                .values(status=status, attempts=1)
            )
            c.execute(
                insert(WebhookAttempt).values(
                    delivery_id=delivery_id, number=1, at=at, status_code=200, duration_ms=5
                )
            )
        return event_id

    return database.run_sync(work)


def stored(database: Database) -> tuple[set[str], int, int]:
    """The event ids left, and how many deliveries and attempts."""

    def work(c: Connection) -> tuple[set[str], int, int]:
        events = set(c.execute(select(WebhookEvent.id)).scalars())
        deliveries = c.execute(select(func.count()).select_from(WebhookDelivery)).scalar_one()
        attempts = c.execute(select(func.count()).select_from(WebhookAttempt)).scalar_one()
        return events, deliveries, attempts

    return database.run_sync(work)


def prune(database: Database, limit: int = 500) -> int:
    return database.run_sync(lambda c: webhook_outbox.prune(c, CUTOFF, limit))


def test_old_settled_events_go_with_their_log_and_recent_ones_stay(
    backend: Backend, app_id: str
) -> None:
    database = backend.database
    add_event(database, app_id, OLD, "delivered", "dead")
    add_event(database, app_id, OLD + RECENT, "delivered", "delivered")
    recent = add_event(database, app_id, RECENT, "delivered", "dead")
    assert prune(database) == 2
    assert stored(database) == ({recent}, 2, 2)
    assert prune(database) == 0


def test_an_old_event_owed_to_any_endpoint_stays_whole(backend: Backend, app_id: str) -> None:
    database = backend.database
    pending = add_event(database, app_id, OLD, "delivered", "pending")
    failed = add_event(database, app_id, OLD * 10, "failed", "dead")
    assert prune(database) == 0
    assert stored(database) == ({pending, failed}, 4, 4)
    # Once its last delivery settles, it goes like any other.
    database.run_sync(
        lambda c: c.execute(
            update(WebhookDelivery).where(WebhookDelivery.event_id == failed).values(status="dead")
        )
    )
    assert prune(database) == 1
    assert stored(database) == ({pending}, 2, 2)


def test_an_old_event_whose_endpoints_were_removed_goes(backend: Backend, app_id: str) -> None:
    database = backend.database
    event_id = add_event(database, app_id, OLD, "pending", "failed")
    for endpoint in database.run_sync(lambda c: webhook_endpoints.list_endpoints(c, app_id)):
        database.run_sync(lambda c, e=endpoint.id: webhook_endpoints.remove_endpoint(c, app_id, e))
    assert stored(database) == ({event_id}, 0, 0)
    assert prune(database) == 1
    assert stored(database) == (set(), 0, 0)


def test_the_limit_is_honoured_oldest_first(backend: Backend, app_id: str) -> None:
    database = backend.database
    ages = [OLD + timedelta(days=n) for n in range(5)]
    by_age = {age: add_event(database, app_id, age, "delivered", "dead") for age in ages}
    assert prune(database, limit=2) == 2
    assert stored(database)[0] == {by_age[age] for age in ages[:3]}  # the youngest three
    assert [prune(database, limit=2) for _ in range(3)] == [2, 1, 0]
    assert stored(database) == (set(), 0, 0)


def test_nodes_pruning_at_once_share_the_work(
    backend: Backend, app_id: str, tmp_path: Path, database_url: str
) -> None:
    """Two nodes (two engines) prune in small chunks at the same time: no errors, and
    together they count each event exactly once."""
    for n in range(40):
        add_event(backend.database, app_id, OLD + timedelta(minutes=n), "delivered", "dead")
    other = Database(backend.database.url)

    async def both() -> list[retention.Pruned]:
        return await asyncio.gather(
            *(
                retention.prune_now(
                    node,
                    verification_log_retention=OLD,
                    webhook_retention=OLD - RECENT,
                    action_log_retention=OLD,
                    chunk=3,
                )
                for node in (backend.database, other)
            )
        )

    try:
        results = asyncio.run(both())
    finally:
        other.dispose()
    assert sum(result.webhook_events for result in results) == 40
    assert stored(backend.database) == (set(), 0, 0)


def test_the_background_loop_prunes_and_stops_promptly(backend: Backend, app_id: str) -> None:
    database = backend.database
    add_event(database, app_id, OLD, "delivered", "dead")
    kept = add_event(database, app_id, RECENT, "delivered", "dead")

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.create_task(
            retention.prune_until(database, backend.settings, stop, first_delay=0, interval=0.05)
        )
        for _ in range(100):
            await asyncio.sleep(0.01)
            if stored(database)[0] == {kept}:
                break
        stop.set()
        await asyncio.wait_for(loop, 1)

    asyncio.run(run())
    assert stored(database) == ({kept}, 2, 2)


def test_a_running_server_prunes(
    make_harness: Callable[..., Harness], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lifespan starts the loop (here with no first delay, to see it work)."""
    quick = functools.partial(retention.prune_until, first_delay=0, interval=0.05)
    monkeypatch.setattr(server_app, "prune_until", quick)
    harness = make_harness()
    box = harness.backend.box

    def old_dead_event(c: Connection) -> None:
        # In one transaction, so the worker never sees a delivery it could send.
        webhook_endpoints.create_endpoint(
            c, box, harness.app_id, "https://example.com/h", ["event.tracked"]
        )
        event_id = webhook_outbox.enqueue(c, harness.app_id, "event.tracked", {}, NOW - OLD)
        c.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.event_id == event_id)
            .values(status="dead")
        )

    run_db(harness, old_dead_event)
    wait_for(lambda: not run_db(harness, lambda c: c.execute(select(WebhookEvent.id)).all()))


def test_retention_settings() -> None:
    defaults = load_settings(environ={})
    assert defaults.webhook_retention == defaults.action_log_retention == timedelta(days=30)
    chosen = load_settings(
        environ={
            "COUNTERSIGN_WEBHOOK_RETENTION_DAYS": "7",
            "COUNTERSIGN_ACTION_LOG_RETENTION_DAYS": "90",
        }
    )
    assert chosen.webhook_retention == timedelta(days=7)
    assert chosen.action_log_retention == timedelta(days=90)


@pytest.mark.parametrize(
    "name", ["COUNTERSIGN_WEBHOOK_RETENTION_DAYS", "COUNTERSIGN_ACTION_LOG_RETENTION_DAYS"]
)
@pytest.mark.parametrize("value", ["0", "-1", "1.5", "forever", "3651"])
def test_bad_retention_settings_fail_loudly(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings(environ={name: value})
