"""An acknowledged message survives ``kill -9`` of the server.

A client thread sends numbered messages, each with its own ``client_id``, and records
every one the server acknowledged (2xx). The server is killed with SIGKILL at a random
moment, then restarted on the same data. Every acknowledged message is there exactly
once, nothing else is, the stream log agrees, and re-sending the one that was in
flight (acknowledged or not, the client cannot know) creates no duplicate.
"""

from __future__ import annotations

import random
import secrets
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import httpx2
import pytest

from .conftest import (
    HTTP_TIMEOUT,
    ServerNode,
    Servers,
    bearer,
    contiguous,
    identify,
    receive_count,
    stream,
)


class Sender(threading.Thread):
    """Sends ``message {n}`` with client_id ``m-{n}`` for n = 0, 1, … until a send
    fails (the server is gone)."""

    def __init__(self, url: str, path: str, token: str) -> None:
        super().__init__(name="sender", daemon=True)
        self.url, self.path, self.auth = url, path, bearer(token)
        self.acknowledged: list[int] = []
        self.in_flight: int | None = None  # sent, never answered
        self.unexpected: list[str] = []

    def run(self) -> None:
        with httpx2.Client(base_url=self.url, timeout=HTTP_TIMEOUT, trust_env=False) as client:
            n = 0
            while True:
                try:
                    response = client.post(
                        self.path,
                        json={"body": f"message {n}", "client_id": f"m-{n}"},
                        headers=self.auth,
                    )
                except httpx2.TransportError:
                    self.in_flight = n
                    return
                if response.status_code != 201:
                    self.unexpected.append(f"{n}: {response.status_code} {response.text}")
                    return
                self.acknowledged.append(n)
                n += 1


def list_messages(node: ServerNode, path: str, token: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 100} | ({"cursor": cursor} if cursor else {})
        response = node.http.get(path, params=params, headers=bearer(token))
        assert response.status_code == 200, response.text
        page = response.json()
        messages += page["data"]
        if not (cursor := page["next_cursor"]):
            return messages


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_every_acknowledged_message_survives_kill_9(
    database: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    seed = secrets.randbits(32)
    kill_after = random.Random(seed).uniform(0.3, 1.5)
    context = f"seed={seed} kill_after={kill_after:.2f}s"
    data_dir = tmp_path / "data"  # a file SQLite database (WAL) unless PostgreSQL
    database_url = (
        str(request.getfixturevalue("postgres_url")) if database == "postgresql" else None
    )
    servers: Servers = request.getfixturevalue("servers")  # killed before the schema is dropped
    app = servers.create_app(data_dir, database_url)
    node = servers.start("node", data_dir=data_dir, database_url=database_url)
    token = identify(node, app, "durable-user")["session_token"]
    created = node.http.post("/v1/widget/conversations", json={}, headers=bearer(token))
    assert created.status_code == 201, created.text
    path = f"/v1/widget/conversations/{created.json()['id']}/messages"

    sender = Sender(node.url, path, token)
    sender.start()
    sender.join(kill_after)
    assert sender.is_alive(), f"the sender stopped before the kill ({context}): {sender.unexpected}"
    node.kill()
    sender.join(HTTP_TIMEOUT + 5)
    assert not sender.is_alive(), f"the sender did not notice the kill ({context})"
    assert sender.unexpected == [], context
    assert sender.in_flight is not None, context
    acknowledged = {f"m-{n}" for n in sender.acknowledged}
    assert acknowledged, f"nothing was acknowledged before the kill ({context})"
    in_flight = f"m-{sender.in_flight}"
    context += f" acknowledged={len(acknowledged)} in_flight={in_flight}"

    node.start()
    node.wait_ready()
    # The session, the conversation and every acknowledged message are still there.
    stored = list_messages(node, path, token)
    counts = Counter(message["client_id"] for message in stored)
    assert [cid for cid, count in counts.items() if count > 1] == [], context
    assert acknowledged - counts.keys() == set(), f"acknowledged but lost ({context})"
    assert counts.keys() - acknowledged <= {in_flight}, context
    assert [message["seq"] for message in stored] == list(range(1, len(stored) + 1)), context
    assert [message["body"] for message in stored] == [f"message {n}" for n in range(len(stored))]

    # Re-sending what was in flight when the server died: stored once, whatever happened.
    was_stored = in_flight in counts
    retry = node.http.post(
        path,
        json={"body": f"message {sender.in_flight}", "client_id": in_flight},
        headers=bearer(token),
    )
    assert retry.status_code == (200 if was_stored else 201), (retry.text, context)
    again = node.http.post(
        path,
        json={"body": f"message {sender.in_flight}", "client_id": in_flight},
        headers=bearer(token),
    )
    assert again.status_code == 200
    assert again.json()["id"] == retry.json()["id"]
    final = list_messages(node, path, token)
    assert len(final) == len(acknowledged) + 1, context
    assert Counter(m["client_id"] for m in final) == Counter(acknowledged | {in_flight})

    # The stream log was committed with the messages: one event each, no gap.
    with stream(node, token, since=0) as (websocket, head):
        assert head == 1 + len(final)  # conversation.created, then the messages
        events = receive_count(websocket, head, timeout=10)
        assert contiguous(events, 0)
        logged = [e["data"]["client_id"] for e in events if e["type"] == "message.created"]
        assert logged == [m["client_id"] for m in final]
