"""A node that loses Redis keeps serving, and recovers when Redis returns.

Two nodes on PostgreSQL share a private ``redis-server`` that the test kills and
restarts, then freezes (SIGSTOP) and resumes. Messages posted through node A meanwhile are answered at
once: they are committed, only the fan-out to other nodes is missing, and A's own
widgets still get them live. When Redis is back, a widget held on node B catches up
from the stream log — every missed message, in order, exactly once — without anything
else having to be posted.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection

from countersign.realtime.redis_broker import PUBLISH_TIMEOUT_SECONDS

from .conftest import (
    CreatedApp,
    RedisProcess,
    ServerNode,
    Servers,
    contiguous,
    identify,
    receive_count,
    silent_for,
    stream,
)

# A request while Redis is away may not wait on it for long: the message is stored.
REQUEST_SECONDS = 1.5
RECOVERY_SECONDS = 6.0
MISSED = 3


@dataclass
class Scene:
    """Nodes A and B, one conversation, and the user's widgets: ``far`` on node B
    (fed through Redis) and ``near`` on node A (fed by A itself)."""

    a: ServerNode
    b: ServerNode
    app: CreatedApp
    conversation_id: str
    far: ClientConnection
    near: ClientConnection
    head: int

    def reply(self, body: str) -> dict[str, Any]:
        """A bot's reply through node A's server API; asserts it is answered quickly."""
        started = time.monotonic()
        response = self.a.http.post(
            f"/v1/conversations/{self.conversation_id}/messages",
            json={"body": body, "author": {"type": "bot", "name": "Helper"}},
            headers=self.app.api_headers(),
        )
        took = time.monotonic() - started
        assert response.status_code == 201, response.text
        assert took < REQUEST_SECONDS, f"posting {body!r} took {took:.1f}s"
        message: dict[str, Any] = response.json()
        return message


@pytest.fixture
def scene(
    servers: Servers, postgres_url: str, private_redis: RedisProcess, tmp_path: Path
) -> Iterator[Scene]:
    data_dir = tmp_path / "data"
    app = servers.create_app(data_dir, postgres_url)
    nodes = [
        servers.start(
            name,
            data_dir=data_dir,
            database_url=postgres_url,
            redis_url=private_redis.url,
            wait=False,
        )
        for name in ("node-a", "node-b")
    ]
    for node in nodes:
        node.wait_ready()
    a, b = nodes
    user = f"user-{secrets.token_hex(4)}"
    with ExitStack() as streams:
        far, head = streams.enter_context(stream(b, identify(b, app, user)["session_token"]))
        near, _ = streams.enter_context(stream(a, identify(a, app, user)["session_token"]))
        started = a.http.post(
            "/v1/conversations", json={"user_id": user, "body": "Hi"}, headers=app.api_headers()
        )
        assert started.status_code == 201, started.text
        # Fan-out works before the outage (which also shows both nodes subscribed).
        for websocket in (far, near):
            assert contiguous(receive_count(websocket, 2), head)
        yield Scene(a, b, app, started.json()["id"], far, near, head + 2)


def _outage_and_recovery(
    scene: Scene,
    go_away: Callable[[], None],
    come_back: Callable[[], None],
    away_for: float,
    label: str,
) -> None:
    go_away()
    missed = [scene.reply(f"{label} #{n}") for n in range(1, MISSED + 1)]
    # Node A keeps serving: its own widget has the messages live, its reads work.
    near = receive_count(scene.near, MISSED, 3.0)
    assert [event["data"] for event in near] == missed
    listed = scene.a.http.get(
        f"/v1/conversations/{scene.conversation_id}/messages", headers=scene.app.api_headers()
    )
    assert [m["id"] for m in listed.json()["data"]][-MISSED:] == [m["id"] for m in missed]
    # Node B's widget, fed only through Redis, hears nothing meanwhile.
    assert silent_for(scene.far, away_for) == []

    come_back()
    caught_up = receive_count(scene.far, MISSED, RECOVERY_SECONDS)
    assert contiguous(caught_up, scene.head), caught_up
    assert [event["data"] for event in caught_up] == missed
    assert silent_for(scene.far, 0.5) == []  # exactly once
    assert silent_for(scene.near, 0) == []  # A's own resync sent nothing twice

    # Live fan-out is back.
    after = scene.reply(f"after: {label}")
    for websocket in (scene.far, scene.near):
        (live,) = receive_count(websocket, 1, 3.0)
        assert live == {"type": "message.created", "seq": scene.head + MISSED + 1, "data": after}
        assert silent_for(websocket, 0.2) == []
    scene.head += MISSED + 1


def test_nodes_keep_serving_through_redis_outages_and_widgets_catch_up(
    scene: Scene, private_redis: RedisProcess
) -> None:
    # Killed: connections are refused while it is down; it comes back on the same
    # port, empty (no subscriptions, nothing kept).
    _outage_and_recovery(
        scene, private_redis.kill, private_redis.start, away_for=0.8, label="killed"
    )
    # Hung (SIGSTOP): connections stay open but nothing answers; then it carries on.
    # Longer than a publish may take, so node A gives up on what it could not send and
    # must tell node B to resync once Redis answers again.
    _outage_and_recovery(
        scene,
        private_redis.pause,
        private_redis.resume,
        away_for=PUBLISH_TIMEOUT_SECONDS + 1.5,
        label="hung",
    )
