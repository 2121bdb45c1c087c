"""A retried send with the same ``client_id`` creates no duplicate, even when the
retries race each other: 20 at once against a real server, on SQLite and on
PostgreSQL (there split across two nodes, as retries behind a load balancer are)."""

from __future__ import annotations

import contextlib
import secrets
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest

from .conftest import (
    HTTP_TIMEOUT,
    CreatedApp,
    ServerNode,
    Servers,
    bearer,
    contiguous,
    identify,
    receive_count,
    silent_for,
    stream,
)

RETRIES = 20


@dataclass
class Deployment:
    app: CreatedApp
    nodes: list[ServerNode]


@pytest.fixture(params=["sqlite", "postgresql"])
def deployment(request: pytest.FixtureRequest, tmp_path: Path) -> Deployment:
    data_dir = tmp_path / "data"
    database_url = None
    if request.param == "postgresql":
        database_url = str(request.getfixturevalue("postgres_url"))
    # Set up after the database, so torn down (processes killed) before it is dropped.
    servers: Servers = request.getfixturevalue("servers")
    app = servers.create_app(data_dir, database_url)
    count = 1 if database_url is None else 2
    nodes = [
        servers.start(f"node-{n}", data_dir=data_dir, database_url=database_url, wait=False)
        for n in range(count)
    ]
    for node in nodes:
        node.wait_ready()
    return Deployment(app, nodes)


def race(
    nodes: list[ServerNode], send: Callable[[httpx2.Client], httpx2.Response]
) -> list[tuple[int, dict[str, Any]]]:
    """``send`` from RETRIES threads at once, spread over ``nodes``, each on its own
    (already open) connection; every (status, document) answered."""
    barrier = threading.Barrier(RETRIES, timeout=HTTP_TIMEOUT)
    with contextlib.ExitStack() as stack:
        clients = [
            stack.enter_context(
                httpx2.Client(
                    base_url=node.url,
                    timeout=HTTP_TIMEOUT,
                    trust_env=False,
                    limits=httpx2.Limits(max_connections=RETRIES),
                )
            )
            for node in nodes
        ]

        def one(index: int) -> tuple[int, dict[str, Any]]:
            client = clients[index % len(clients)]
            client.get("/healthz")  # open the connection first, so the sends start together
            barrier.wait()
            response = send(client)
            return response.status_code, response.json()

        with ThreadPoolExecutor(RETRIES) as pool:
            return list(pool.map(one, range(RETRIES), timeout=3 * HTTP_TIMEOUT))


def assert_one_message(answers: list[tuple[int, dict[str, Any]]], client_id: str) -> str:
    statuses = Counter(status for status, _ in answers)
    assert statuses == {201: 1, 200: RETRIES - 1}, answers
    ids = {document["id"] for _, document in answers}
    assert len(ids) == 1, ids
    assert {document["client_id"] for _, document in answers} == {client_id}
    return ids.pop()


def test_concurrent_retries_of_one_client_id_create_one_message(deployment: Deployment) -> None:
    app, nodes = deployment.app, deployment.nodes
    user = f"user-{secrets.token_hex(4)}"
    token = identify(nodes[0], app, user)["session_token"]
    auth = bearer(token)
    created = nodes[0].http.post("/v1/widget/conversations", json={}, headers=auth)
    assert created.status_code == 201, created.text
    conversation_id = created.json()["id"]
    path = f"/v1/widget/conversations/{conversation_id}/messages"

    # The widget's send, retried 20 times at once.
    widget_answers = race(
        nodes,
        lambda client: client.post(
            path, json={"body": "Where is my order?", "client_id": "send-1"}, headers=auth
        ),
    )
    widget_message = assert_one_message(widget_answers, "send-1")

    # The customer's backend posting a reply with a client_id, retried 20 times at once.
    server_answers = race(
        nodes,
        lambda client: client.post(
            f"/v1/conversations/{conversation_id}/messages",
            json={
                "body": "It ships today",
                "author": {"type": "operator", "name": "Ada"},
                "client_id": "reply-1",
            },
            headers=app.api_headers(),
        ),
    )
    reply_message = assert_one_message(server_answers, "reply-1")

    # Twenty different sends at once: twenty messages, each its own seq.
    distinct = race(
        nodes,
        lambda client: client.post(
            path, json={"body": "burst", "client_id": f"burst-{secrets.token_hex(6)}"}, headers=auth
        ),
    )
    assert Counter(status for status, _ in distinct) == {201: RETRIES}
    assert len({document["id"] for _, document in distinct}) == RETRIES

    # A client_id is scoped to its conversation: the same one elsewhere is a new message.
    other = nodes[-1].http.post("/v1/widget/conversations", json={}, headers=auth).json()["id"]
    elsewhere = nodes[-1].http.post(
        f"/v1/widget/conversations/{other}/messages",
        json={"body": "Where is my order?", "client_id": "send-1"},
        headers=auth,
    )
    assert elsewhere.status_code == 201
    assert elsewhere.json()["id"] != widget_message

    messages = nodes[-1].http.get(path, params={"limit": 100}, headers=auth).json()["data"]
    assert len(messages) == 2 + RETRIES
    assert [m["id"] for m in messages[:2]] == [widget_message, reply_message]
    assert [m["seq"] for m in messages] == list(range(1, 2 + RETRIES + 1))
    assert len({m["client_id"] for m in messages}) == len(messages)

    # The stream log holds one event per message, numbered with no gap: the losing
    # retries left nothing behind (their seq increments were rolled back).
    with stream(nodes[0], token, since=0) as (websocket, head):
        total = 2 + 2 + RETRIES + 1  # two conversations, their messages
        assert head == total
        events = receive_count(websocket, total)
        assert contiguous(events, 0)
        client_ids = Counter(
            event["data"]["client_id"] for event in events if event["type"] == "message.created"
        )
        assert client_ids["send-1"] == 2  # once in each conversation
        assert client_ids["reply-1"] == 1
        assert set(client_ids.values()) <= {1, 2}
        assert silent_for(websocket, 0.2) == []
