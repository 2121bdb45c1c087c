"""Snoozes on two nodes sharing PostgreSQL and Redis: both run the wake loop, racing
every 50 ms, and each wake-up happens exactly once (one ``conversation.updated`` in the
contact's stream, one ``conversation.status_changed`` webhook event), reaching the
widget's stream live on the other node. And the claim itself, raced by threads."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from countersign import messaging, team
from countersign.context import open_backend
from countersign.settings import load_settings
from countersign.storage import apps, contacts, stream_log, webhook_endpoints
from countersign.storage.models import Conversation, WebhookEvent
from countersign.storage.team_conversations import set_workflow
from countersign.vocabulary.clock import utcnow
from tests.realtime.conftest import Servers, bearer, identify, receive, stream

CONVERSATIONS = 12


@dataclass
class RacingServers(Servers):
    @property
    def env(self) -> dict[str, str]:
        return {**super().env, "COUNTERSIGN_SNOOZE_POLL_SECONDS": "0.05"}


def test_two_nodes_wake_each_snooze_once(
    postgres_url: str, shared_redis: str, tmp_path: Path
) -> None:
    pool = RacingServers(tmp_path)
    data = tmp_path / "data"
    try:
        app = pool.create_app(data, postgres_url)
        backend = open_backend(
            load_settings(
                environ={"COUNTERSIGN_MASTER_KEY": pool.master_key},
                data_dir=data,
                database_url=postgres_url,
            )
        )
        backend.database.run_sync(
            lambda c: webhook_endpoints.create_endpoint(
                c,
                backend.box,
                app.app_id,
                "http://127.0.0.1:9/hooks",
                ["conversation.status_changed"],
                allow_private_network=True,
            )
        )
        a = pool.start(
            "node-a", data_dir=data, database_url=postgres_url, redis_url=shared_redis, wait=False
        )
        b = pool.start(
            "node-b", data_dir=data, database_url=postgres_url, redis_url=shared_redis, wait=False
        )
        a.wait_ready()
        b.wait_ready()

        token = identify(a, app, "user-1")["session_token"]
        ids = []
        for _ in range(CONVERSATIONS):
            started = a.http.post("/v1/widget/conversations", json={}, headers=bearer(token))
            assert started.status_code == 201, started.text
            ids.append(started.json()["id"])
        with stream(b, token) as (websocket, _):
            # Snoozed for an hour through the API, then the hour passes at once: every
            # snooze falls due at the same moment for both nodes' loops. (A snooze
            # of a second from now was in the past by the last PATCH on a busy day.)
            until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
            for conversation_id in ids:
                snoozed = a.http.patch(
                    f"/v1/conversations/{conversation_id}",
                    json={"snoozed_until": until},
                    headers=app.api_headers(),
                )
                assert snoozed.status_code == 200, snoozed.text
            due = utcnow() - timedelta(seconds=1)
            backend.database.run_sync(
                lambda c: c.execute(
                    update(Conversation).where(Conversation.id.in_(ids)).values(snoozed_until=due)
                )
            )

            def woken(events: list[dict[str, Any]]) -> bool:
                opened = {
                    e["data"]["id"]
                    for e in events
                    if e["type"] == "conversation.updated" and e["data"]["status"] == "open"
                }
                return opened == set(ids)

            receive(websocket, woken, timeout=15)

        time.sleep(0.5)  # a second wake-up, if any, would be written by now
        contact_id = backend.database.run_sync(
            lambda c: c.execute(
                select(Conversation.contact_id).where(Conversation.id == ids[0])
            ).scalar_one()
        )
        items = backend.database.run_sync(lambda c: stream_log.stream_after(c, contact_id, 0))
        reopened = Counter(
            item.data["id"]
            for item in items
            if item.type == "conversation.updated" and item.data["status"] == "open"
        )
        assert reopened == dict.fromkeys(ids, 1)
        changes = backend.database.run_sync(
            lambda c: (
                c.execute(
                    select(WebhookEvent.data).where(
                        WebhookEvent.type == "conversation.status_changed"
                    )
                )
                .scalars()
                .all()
            )
        )
        woke = Counter(
            d["conversation"]["id"] for d in changes if d["previous_status"] == "snoozed"
        )
        assert woke == dict.fromkeys(ids, 1)
        backend.close()
    finally:
        pool.close()


def test_racing_claims_never_wake_one_conversation_twice(postgres_url: str, tmp_path: Path) -> None:
    backend = open_backend(load_settings(environ={}, data_dir=tmp_path, database_url=postgres_url))
    try:
        now = utcnow()

        def setup(connection: Any) -> list[str]:
            created = apps.create_app(connection, backend.box, "Acme")
            contact = contacts.ensure_verified_contact(connection, created.app.id, "u", now)
            ids = []
            for _ in range(300):
                conversation, _event = messaging.start_conversation(
                    connection, created.app.id, contact, now
                )
                set_workflow(
                    connection,
                    created.app.id,
                    conversation["id"],
                    status="snoozed",
                    snoozed_until=now + timedelta(seconds=1),
                )
                ids.append(conversation["id"])
            return ids

        ids = backend.database.run_sync(setup)
        later = now + timedelta(seconds=2)
        woken: list[str] = []
        lock = threading.Lock()
        start = threading.Barrier(4)

        def claim() -> None:
            start.wait()
            while True:
                events = backend.database.run_sync(lambda c: team.wake_due(c, later))
                with lock:
                    woken.extend(event.data["id"] for event in events)
                if not events:
                    return

        threads = [threading.Thread(target=claim) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(woken) == sorted(ids)  # every one, and none twice
    finally:
        backend.close()
