"""Sending (SPEC 13): one user or a thousand in one request and one transaction,
idempotent under concurrent repeats, and refused whole when any part is wrong."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from countersign import notifications
from countersign.storage.models import Notification, NotificationSend, StreamEvent
from countersign.storage.notifications import NotificationDraft
from countersign.vocabulary.clock import utcnow

from ..server.conftest import Harness
from .conftest import Backend, Device, assert_error


def count(harness: Harness, table: Any) -> int:
    return int(
        harness.backend.database.run_sync(
            lambda c: c.execute(select(func.count()).select_from(table)).scalar_one()
        )
    )


def test_one_request_notifies_a_thousand_users_each_told_live(
    harness: Harness, devices: Callable[..., Device], backend_api: Backend
) -> None:
    listening = [devices(f"user-{i}", stream=True) for i in (0, 499, 999)]
    users = [f"user-{i}" for i in range(1_000)]
    response = backend_api.send(user_ids=users, title="Maintenance tonight", category="status")
    assert response.status_code == 201, response.text
    document = response.json()
    assert [n["user_id"] for n in document["data"]] == users
    assert document["muted"] == []
    assert len({n["id"] for n in document["data"]}) == 1_000
    assert count(harness, Notification) == 1_000
    for device in listening:
        event = device.next_event("notification.created")
        assert event["title"] == "Maintenance tonight"
        assert device.ids(category="status") == [event["id"]]


def test_a_repeat_with_the_idempotency_key_answers_the_first_result_and_creates_nothing(
    harness: Harness, backend_api: Backend
) -> None:
    body = {"user_ids": ["ada", "bob"], "title": "Invoice ready", "idempotency_key": "inv-1"}
    first = backend_api.send(**body)
    assert first.status_code == 201, first.text
    again = backend_api.send(**dict(reversed(list(body.items()))))  # same body, other key order
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    assert count(harness, Notification) == 2
    # The same key with another body is refused and creates nothing.
    assert_error(backend_api.send(**{**body, "title": "Other"}), 409, "idempotency_key_reused")
    assert count(harness, Notification) == 2
    # One user, too: the repeat answers the same notification.
    one = backend_api.send(user_id="ada", title="Hi", idempotency_key="hi-1")
    assert one.status_code == 201
    repeat = backend_api.send(user_id="ada", title="Hi", idempotency_key="hi-1")
    assert (repeat.status_code, repeat.json()["id"]) == (200, one.json()["id"])
    assert count(harness, Notification) == 3


def test_a_key_older_than_a_day_is_a_new_send(harness: Harness) -> None:
    draft = NotificationDraft("Daily digest")
    key = notifications.Idempotency("day", "f" * 64)
    run = harness.backend.database.run_sync
    then = utcnow() - timedelta(hours=25)
    first = run(
        lambda c: notifications.send(
            c, app_id=harness.app_id, user_ids=["ada"], draft=draft, now=then, idempotency=key
        )
    )
    later = run(
        lambda c: notifications.send(
            c, app_id=harness.app_id, user_ids=["ada"], draft=draft, now=utcnow(), idempotency=key
        )
    )
    assert first.created
    assert later.created
    assert count(harness, Notification) == 2
    assert count(harness, NotificationSend) == 1


def test_concurrent_repeats_create_one(harness: Harness) -> None:
    """Eight threads send with one key at once; the primary key lets one through."""
    key = notifications.Idempotency("race", "a" * 64)
    draft = NotificationDraft("Exactly once")
    barrier = threading.Barrier(8)
    results: list[notifications.Sent] = []
    errors: list[BaseException] = []

    def send() -> None:
        barrier.wait()
        try:
            results.append(
                harness.backend.database.run_sync(
                    lambda c: notifications.send(
                        c,
                        app_id=harness.app_id,
                        user_ids=["ada", "bob"],
                        draft=draft,
                        now=utcnow(),
                        idempotency=key,
                    )
                )
            )
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(r.created for r in results) == [False] * 7 + [True]
    assert len({str(r.document) for r in results}) == 1
    assert count(harness, Notification) == 2
    assert count(harness, StreamEvent) == 2


def test_concurrent_http_repeats_create_one(harness: Harness, backend_api: Backend) -> None:
    barrier = threading.Barrier(6)
    statuses: list[int] = []

    def send() -> None:
        barrier.wait()
        response = backend_api.send(user_id="ada", title="Once", idempotency_key="http-race")
        statuses.append(response.status_code)

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * 5 + [201]
    assert count(harness, Notification) == 1


BAD_SENDS: list[tuple[str, dict[str, Any], int]] = [
    ("empty title", {"user_id": "ada", "title": ""}, 422),
    ("blank title", {"user_id": "ada", "title": "   "}, 422),
    ("title of 100 kB", {"user_id": "ada", "title": "x" * 100_000}, 413),
    ("title over 500 characters", {"user_id": "ada", "title": "x" * 501}, 422),
    (
        "javascript: action",
        {
            "user_id": "ada",
            "title": "t",
            "actions": [{"label": "Pay", "url": "javascript:alert(1)"}],
        },
        422,
    ),
    (
        "relative action url",
        {"user_id": "ada", "title": "t", "actions": [{"label": "Pay", "url": "/pay"}]},
        422,
    ),
    (
        "three actions",
        {
            "user_id": "ada",
            "title": "t",
            "actions": [{"label": f"a{i}", "url": "https://x.example/"} for i in range(3)],
        },
        422,
    ),
    (
        "empty action label",
        {"user_id": "ada", "title": "t", "actions": [{"label": "", "url": "https://x.example/"}]},
        422,
    ),
    ("javascript: url", {"user_id": "ada", "title": "t", "url": "javascript:alert(1)"}, 422),
    ("1,001 user ids", {"user_ids": [f"u{i}" for i in range(1_001)], "title": "t"}, 422),
    ("duplicate user ids", {"user_ids": ["ada", "bob", "ada"], "title": "t"}, 422),
    ("no user ids", {"user_ids": [], "title": "t"}, 422),
    ("both user_id and user_ids", {"user_id": "ada", "user_ids": ["bob"], "title": "t"}, 422),
    ("neither user_id nor user_ids", {"title": "t"}, 422),
    ("bad category", {"user_id": "ada", "title": "t", "category": "Billing Dept"}, 422),
    ("bad user id in the list", {"user_ids": ["ada", ""], "title": "t"}, 422),
    ("unknown field", {"user_id": "ada", "title": "t", "priority": "high"}, 422),
]


@pytest.mark.parametrize(("case", "body", "status"), BAD_SENDS, ids=[c[0] for c in BAD_SENDS])
def test_bad_input_is_refused_and_creates_nothing(
    harness: Harness, backend_api: Backend, case: str, body: dict[str, Any], status: int
) -> None:
    response = backend_api.send(**body)
    assert 400 <= response.status_code < 500, (case, response.text)
    assert response.status_code == status, (case, response.text)
    document = response.json()
    assert set(document) == {"error"}
    assert set(document["error"]) == {"code", "message"}
    assert count(harness, Notification) == 0
    assert count(harness, StreamEvent) == 0


def test_actions_are_kept_and_listed(devices: Callable[..., Device], backend_api: Backend) -> None:
    device = devices("ada")
    actions = [
        {"label": "Pay", "url": "https://billing.example/pay/INV-1"},
        {"label": "Details", "url": "http://billing.example/INV-1"},
    ]
    backend_api.notify("ada", "Invoice ready", category="billing", actions=actions)
    assert device.get("/notifications")["data"][0]["actions"] == actions


def test_expired_keys_are_pruned(harness: Harness) -> None:
    import asyncio

    from countersign.retention import prune_now

    run = harness.backend.database.run_sync
    old = utcnow() - timedelta(hours=30)
    for key in ("old-1", "old-2"):
        run(
            lambda c, key=key: notifications.send(
                c,
                app_id=harness.app_id,
                user_ids=["ada"],
                draft=NotificationDraft("t"),
                now=old,
                idempotency=notifications.Idempotency(key, "b" * 64),
            )
        )
    run(
        lambda c: notifications.send(
            c,
            app_id=harness.app_id,
            user_ids=["ada"],
            draft=NotificationDraft("t"),
            now=utcnow(),
            idempotency=notifications.Idempotency("fresh", "b" * 64),
        )
    )
    days = timedelta(days=30)
    pruned = asyncio.run(
        prune_now(
            harness.backend.database,
            verification_log_retention=days,
            webhook_retention=days,
            action_log_retention=days,
            chunk=1,
        )
    )
    assert pruned.idempotency_keys == 2
    assert count(harness, NotificationSend) == 1
