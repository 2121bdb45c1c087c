"""Scale-out: two ``countersign serve`` nodes on one PostgreSQL and the machine's Redis.

A message posted through node A reaches a widget connected to node B, live. In CI
(``CI=true``) an unreachable PostgreSQL or Redis fails these tests; it never skips them.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path

from countersign import sign

from .conftest import (
    CreatedApp,
    ServerNode,
    Servers,
    bearer,
    contiguous,
    identify,
    receive_count,
    silent_for,
    stream,
    two_nodes,
)

LIVE_WITHIN_SECONDS = 3.0


def _wait_for_anonymous_mode(node: ServerNode, app: CreatedApp, timeout: float = 6.0) -> None:
    """Until the node has picked up on_mismatch=anonymous (its app cache polls the
    database every second). Probes with throwaway identifiers, so the per-identifier
    failure limit of the user under test is not spent."""
    deadline = time.monotonic() + timeout
    while True:
        probe = f"probe-{secrets.token_hex(4)}"
        response = node.http.post(
            "/v1/widget/identify",
            json={"app_id": app.app_id, "user_id": probe, "user_hash": "0" * 64},
        )
        if response.status_code == 200:
            return
        assert response.status_code == 401, response.text
        assert time.monotonic() < deadline, "the node never picked up the new policy"
        time.sleep(0.25)


def test_message_posted_on_node_a_reaches_a_widget_on_node_b(
    servers: Servers, postgres_url: str, shared_redis: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    app, a, b = two_nodes(servers, data_dir, postgres_url, shared_redis)
    user = f"user-{secrets.token_hex(4)}"
    api = app.api_headers()

    # A verified user's phone holds a stream on node B.
    phone = identify(b, app, user)
    assert phone["identity"]["status"] == "verified"
    with stream(b, phone["session_token"]) as (websocket, head):
        assert head == 0

        started = a.http.post(
            "/v1/conversations", json={"user_id": user, "body": "Welcome!"}, headers=api
        )
        assert started.status_code == 201, started.text
        conversation_id = started.json()["id"]
        opened = receive_count(websocket, 2, LIVE_WITHIN_SECONDS)
        assert [event["type"] for event in opened] == ["conversation.created", "message.created"]
        assert contiguous(opened, 0)
        assert opened[0]["data"]["id"] == conversation_id
        assert opened[1]["data"]["body"] == "Welcome!"

        # An operator's reply through node A's server API: live on B within seconds.
        sent_at = time.monotonic()
        reply = a.http.post(
            f"/v1/conversations/{conversation_id}/messages",
            json={"body": "How can we help?", "author": {"type": "operator", "name": "Ada"}},
            headers=api,
        )
        assert reply.status_code == 201, reply.text
        (live,) = receive_count(websocket, 1, LIVE_WITHIN_SECONDS)
        assert time.monotonic() - sent_at < LIVE_WITHIN_SECONDS
        assert live == {"type": "message.created", "seq": 3, "data": reply.json()}
        assert live["data"]["author"] == {"type": "operator", "name": "Ada"}

        # The user answers on node B (REST), and node A notifies them: both arrive live.
        answer = b.http.post(
            f"/v1/widget/conversations/{conversation_id}/messages",
            json={"body": "My invoice is wrong", "client_id": "c-1"},
            headers=bearer(phone["session_token"]),
        )
        assert answer.status_code == 201, answer.text
        notified = a.http.post(
            "/v1/notifications", json={"user_id": user, "title": "Invoice fixed"}, headers=api
        )
        assert notified.status_code == 201, notified.text
        later = receive_count(websocket, 2, LIVE_WITHIN_SECONDS)
        assert [event["type"] for event in later] == ["message.created", "notification.created"]
        assert contiguous(later, 3)
        assert later[0]["data"]["id"] == answer.json()["id"]
        assert later[1]["data"]["title"] == "Invoice fixed"
        assert silent_for(websocket, 0.3) == []  # nothing twice

    # A second device, identified on node A, sees the whole history.
    laptop = identify(a, app, user)
    assert laptop["visitor_id"] != phone["visitor_id"]
    assert laptop["contact"]["id"] == phone["contact"]["id"]
    laptop_auth = bearer(laptop["session_token"])
    conversations = a.http.get("/v1/widget/conversations", headers=laptop_auth)
    assert [c["id"] for c in conversations.json()["data"]] == [conversation_id]
    messages = a.http.get(
        f"/v1/widget/conversations/{conversation_id}/messages", headers=laptop_auth
    )
    assert [m["body"] for m in messages.json()["data"]] == [
        "Welcome!",
        "How can we help?",
        "My invoice is wrong",
    ]
    assert [m["author"]["type"] for m in messages.json()["data"]] == ["bot", "operator", "contact"]
    notifications = a.http.get("/v1/widget/notifications", headers=laptop_auth).json()
    assert [n["title"] for n in notifications["data"]] == ["Invoice fixed"]
    with stream(a, laptop["session_token"], since=0) as (websocket, head):
        assert head == 5
        history = receive_count(websocket, 5)
        assert contiguous(history, 0)
        assert silent_for(websocket, 0.2) == []

    # An impersonator with a wrong hash: 401 on either node …
    forged = sign("not-the-secret", user)
    for node in (a, b):
        identify(node, app, user, user_hash=forged, expect=401)

    # … and, once the app drops failed identities instead, an anonymous visitor who
    # sees none of the user's conversations, messages or live events.
    servers.set_policy(app, data_dir, postgres_url, "--on-mismatch", "anonymous")
    _wait_for_anonymous_mode(a, app)
    impostor = identify(a, app, user, user_hash=forged)
    assert impostor["identity"]["status"] == "anonymous"
    assert impostor["contact"]["user_id"] is None
    assert impostor["contact"]["id"] != phone["contact"]["id"]
    impostor_auth = bearer(impostor["session_token"])
    listed = a.http.get("/v1/widget/conversations", headers=impostor_auth)
    assert listed.status_code == 200
    assert listed.json() == {"data": [], "next_cursor": None}
    peek = a.http.get(f"/v1/widget/conversations/{conversation_id}/messages", headers=impostor_auth)
    assert peek.status_code == 404
    assert a.http.get("/v1/widget/notifications", headers=impostor_auth).json()["data"] == []
    with (
        stream(b, impostor["session_token"], since=0) as (spy, spy_head),
        stream(b, phone["session_token"], since=5) as (owner, owner_head),
    ):
        assert spy_head == 0
        assert owner_head == 5
        secret_reply = a.http.post(
            f"/v1/conversations/{conversation_id}/messages",
            json={"body": "Your card ends in 4242", "author": {"type": "operator", "name": "Ada"}},
            headers=api,
        )
        assert secret_reply.status_code == 201
        (delivered,) = receive_count(owner, 1, LIVE_WITHIN_SECONDS)
        assert delivered["data"]["body"] == "Your card ends in 4242"
        assert silent_for(spy, 0.3) == []
