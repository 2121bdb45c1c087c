"""Two real ``countersign serve`` nodes on one PostgreSQL, both delivering webhooks.

Both poll the queue every 50 ms, so they race for every delivery. Each attempt of each
event must reach the receiver exactly once (the lease is taken by one node only), every
event must arrive, and in order: one endpoint, one event at a time, across nodes.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from countersign.context import open_backend
from countersign.settings import load_settings
from countersign.storage import webhook_endpoints
from tests.realtime.conftest import Servers, bearer, identify
from tests.webhooks.receiver import Receiver

MESSAGES = 24


@dataclass
class RacingServers(Servers):
    @property
    def env(self) -> dict[str, str]:
        return {
            **super().env,
            "COUNTERSIGN_WEBHOOK_POLL_SECONDS": "0.05",
            "COUNTERSIGN_WEBHOOK_BACKOFF_BASE_SECONDS": "0.05",
            "COUNTERSIGN_WEBHOOK_BACKOFF_CAP_SECONDS": "0.2",
        }


def test_two_nodes_never_make_the_same_attempt_twice(postgres_url: str, tmp_path: Path) -> None:
    pool = RacingServers(tmp_path)
    receiver = Receiver()
    receiver.start()
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
        try:
            backend.database.run_sync(
                lambda c: webhook_endpoints.create_endpoint(
                    c,
                    backend.box,
                    app.app_id,
                    receiver.url,
                    ["message.created"],
                    allow_private_network=True,
                )
            )
        finally:
            backend.close()
        a = pool.start("node-a", data_dir=data, database_url=postgres_url, wait=False)
        b = pool.start("node-b", data_dir=data, database_url=postgres_url, wait=False)
        a.wait_ready()
        b.wait_ready()

        token = identify(a, app, "user-1")["session_token"]
        started = a.http.post("/v1/widget/conversations", json={}, headers=bearer(token))
        assert started.status_code == 201, started.text
        conversation = started.json()["id"]
        receiver.status = 500  # the first half meets failures, so both nodes retry too
        for n in range(MESSAGES):
            node = (a, b)[n % 2]
            sent = node.http.post(
                f"/v1/widget/conversations/{conversation}/messages",
                json={"body": f"m{n}"},
                headers=bearer(token),
            )
            assert sent.status_code == 201, sent.text
            if n == MESSAGES // 2:
                receiver.wait_for(lambda got: len(got) >= 6)
                receiver.status = 200

        deadline = time.monotonic() + 30
        while len({item.event_id for item in receiver.delivered()}) < MESSAGES:
            assert time.monotonic() < deadline, f"{len(receiver.delivered())} delivered"
            time.sleep(0.1)
        time.sleep(0.5)  # a duplicate, if any, would arrive now

        received = receiver.snapshot()
        attempts = Counter(
            (item.event_id, item.headers["x-countersign-delivery-attempt"]) for item in received
        )
        assert max(attempts.values()) == 1, [key for key, n in attempts.items() if n > 1]
        delivered = Counter(item.event_id for item in receiver.delivered())
        assert set(delivered.values()) == {1}  # once a 200 came back, never sent again
        bodies = [item.json()["data"]["message"]["body"] for item in receiver.delivered()]
        assert bodies == [f"m{n}" for n in range(MESSAGES)]
        assert any(int(attempt) > 1 for _, attempt in attempts)  # retries happened
    finally:
        pool.close()
        receiver.stop()
