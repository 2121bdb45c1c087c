"""The stream's resume contract: ``since`` replays exactly what was missed, in order.

An in-process uvicorn (on SQLite and on PostgreSQL) serves the real app on a free
port, so the tests talk real WebSockets with timeouts, and can shorten the stream's
own timers (session recheck, hello timeout) with ``monkeypatch``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
import uvicorn
from websockets.sync.client import connect

from countersign import sign
from countersign.context import open_backend
from countersign.server.app import create_app
from countersign.server.routes import stream as stream_route
from countersign.settings import load_settings
from countersign.storage import apps, stream_log

from .conftest import (
    HTTP_TIMEOUT,
    WS_TIMEOUT,
    bearer,
    close_code,
    contiguous,
    free_port,
    receive_count,
    silent_for,
    stream,
)

RECHECK_SECONDS = 0.3
# For what does not depend on the database: one run is enough.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@dataclass
class Live:
    """The app served by an in-process uvicorn, and that app's credentials."""

    http: httpx2.Client
    ws_url: str
    app_id: str
    secret: str
    api_key: str

    def verified(self, user_id: str) -> dict[str, Any]:
        response = self.http.post(
            "/v1/widget/identify",
            json={
                "app_id": self.app_id,
                "user_id": user_id,
                "user_hash": sign(self.secret, user_id),
            },
        )
        assert response.status_code == 200, response.text
        document: dict[str, Any] = response.json()
        return document

    @property
    def api(self) -> dict[str, str]:
        return bearer(self.api_key)

    def start_conversation(self, user_id: str, body: str = "Hello") -> str:
        """Two stream events: conversation.created and message.created."""
        response = self.http.post(
            "/v1/conversations", json={"user_id": user_id, "body": body}, headers=self.api
        )
        assert response.status_code == 201, response.text
        conversation_id: str = response.json()["id"]
        return conversation_id

    def reply(self, conversation_id: str, body: str) -> dict[str, Any]:
        response = self.http.post(
            f"/v1/conversations/{conversation_id}/messages",
            json={"body": body, "author": {"type": "operator", "name": "Ada"}},
            headers=self.api,
        )
        assert response.status_code == 201, response.text
        message: dict[str, Any] = response.json()
        return message


@pytest.fixture
def live(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    monkeypatch.setattr(stream_route, "SESSION_RECHECK_SECONDS", RECHECK_SECONDS)
    settings = load_settings(environ={}, data_dir=tmp_path / "data", database_url=database_url)
    backend = open_backend(settings)
    created = backend.database.run_sync(lambda c: apps.create_app(c, backend.box, "Acme"))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, backend=backend),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
        )
    )
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not server.started:
            assert thread.is_alive(), "uvicorn stopped while starting"
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        with httpx2.Client(
            base_url=f"http://127.0.0.1:{port}", timeout=HTTP_TIMEOUT, trust_env=False
        ) as http:
            yield Live(
                http,
                f"ws://127.0.0.1:{port}/v1/widget/stream",
                created.app.id,
                created.secret,
                created.api_key,
            )
    finally:
        server.should_exit = True
        thread.join(15)
        backend.close()
    assert not thread.is_alive(), "uvicorn did not stop"


def test_reconnect_with_since_replays_exactly_the_missed_events(live: Live) -> None:
    user = "replay-user"
    token = live.verified(user)["session_token"]
    with stream(live.ws_url, token) as (websocket, head):
        assert head == 0
        conversation_id = live.start_conversation(user)
        seen = receive_count(websocket, 2)
        assert contiguous(seen, 0)
    last_seen = seen[-1]["seq"]

    # While the widget is away: three replies, a notification, and reading it.
    replies = [live.reply(conversation_id, f"while away {n}") for n in range(3)]
    notified = live.http.post(
        "/v1/notifications", json={"user_id": user, "title": "Ping"}, headers=live.api
    )
    assert notified.status_code == 201
    read = live.http.post(
        f"/v1/widget/notifications/{notified.json()['id']}/read", headers=bearer(token)
    )
    assert read.status_code == 200

    with stream(live.ws_url, token, since=last_seen) as (websocket, head):
        assert head == last_seen + 5
        replayed = receive_count(websocket, 5)
        assert contiguous(replayed, last_seen)
        assert [event["type"] for event in replayed] == [
            "message.created",
            "message.created",
            "message.created",
            "notification.created",
            "notification.read",
        ]
        assert [event["data"] for event in replayed[:3]] == replies
        assert replayed[3]["data"]["id"] == notified.json()["id"]
        assert replayed[4]["data"]["read"] is True
        assert replayed[4]["data"]["unread_count"] == 0
        assert silent_for(websocket, 0.3) == []  # nothing twice

        # And the stream goes on live from there.
        after = live.reply(conversation_id, "back again")
        (event,) = receive_count(websocket, 1)
        assert event == {"type": "message.created", "seq": head + 1, "data": after}

    # A reconnect that had seen everything replays nothing.
    with stream(live.ws_url, token, since=head + 1) as (websocket, again):
        assert again == head + 1
        assert silent_for(websocket, 0.3) == []


def test_since_zero_replays_the_whole_log(live: Live) -> None:
    token = live.verified("history-user")["session_token"]
    conversation_id = live.start_conversation("history-user")
    for n in range(3):
        live.reply(conversation_id, f"reply {n}")
    with stream(live.ws_url, token, since=0) as (websocket, head):
        assert head == 5
        events = receive_count(websocket, 5)
        assert contiguous(events, 0)
        assert silent_for(websocket, 0.3) == []


def test_since_null_starts_at_the_head(live: Live) -> None:
    token = live.verified("fresh-user")["session_token"]
    conversation_id = live.start_conversation("fresh-user")
    with stream(live.ws_url, token, since=None) as (websocket, head):
        assert head == 2
        assert silent_for(websocket, 0.3) == []  # no history
        message = live.reply(conversation_id, "only this")
        assert receive_count(websocket, 1) == [
            {"type": "message.created", "seq": 3, "data": message}
        ]


def test_since_beyond_the_head_is_clamped(live: Live) -> None:
    """A client claiming to have seen more than exists (another database, a bug) is
    answered with the real head and then gets the next events, not silence."""
    token = live.verified("ahead-user")["session_token"]
    conversation_id = live.start_conversation("ahead-user")
    with stream(live.ws_url, token, since=1_000) as (websocket, head):
        assert head == 2
        assert silent_for(websocket, 0.3) == []
        message = live.reply(conversation_id, "next")
        assert receive_count(websocket, 1) == [
            {"type": "message.created", "seq": 3, "data": message}
        ]


@SQLITE_ONLY
def test_replay_longer_than_one_page_of_the_log_is_complete(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pages of 5 instead of 500: the same code path, without writing 500 events.
    page = 5
    read_page = stream_log.stream_after
    monkeypatch.setattr(
        stream_log,
        "stream_after",
        lambda connection, contact_id, since, limit=page: read_page(
            connection, contact_id, since, min(limit, page)
        ),
    )
    user = "busy-user"
    token = live.verified(user)["session_token"]
    conversation_id = live.start_conversation(user)
    for n in range(2 * page):
        live.reply(conversation_id, f"reply {n}")
    total = 2 + 2 * page
    with stream(live.ws_url, token, since=0) as (websocket, head):
        assert head == total
        events = receive_count(websocket, total, timeout=2)
        assert contiguous(events, 0)


def test_logout_closes_a_connected_stream_with_4401(live: Live) -> None:
    user = "leaving-user"
    token = live.verified(user)["session_token"]
    conversation_id = live.start_conversation(user)
    with stream(live.ws_url, token) as (websocket, _head):
        assert live.http.post("/v1/widget/logout", headers=bearer(token)).status_code == 200
        started = time.monotonic()
        assert close_code(websocket, timeout=RECHECK_SECONDS + 3) == 4401
        assert time.monotonic() - started < RECHECK_SECONDS + 3
    # The revoked token cannot open a new stream either.
    with connect(live.ws_url, open_timeout=WS_TIMEOUT, proxy=None, legacy=True) as websocket:
        websocket.send(json.dumps({"token": token, "since": None}))
        assert close_code(websocket, timeout=WS_TIMEOUT) == 4401
    live.reply(conversation_id, "nobody is listening")  # the server is still fine


def _hello_close_code(live: Live, hello: str | bytes) -> int | None:
    with connect(live.ws_url, open_timeout=WS_TIMEOUT, proxy=None, legacy=True) as websocket:
        websocket.send(hello)
        return close_code(websocket, timeout=WS_TIMEOUT)


BAD_TOKENS = {
    "garbage": "not-a-session",
    "longest": "x" * 200,
    "well-formed-unknown": "cs_sess_" + "0" * 43,
}

MALFORMED_HELLOS: dict[str, str | bytes] = {
    "not-json": "not json",
    "array": "[]",
    "null": "null",
    "no-token": '{"since": null}',
    "token-number": '{"token": 42, "since": null}',
    "token-empty": '{"token": "", "since": null}',
    "token-too-long": '{"token": "' + "x" * 201 + '", "since": null}',
    "since-negative": '{"token": "abc", "since": -1}',
    "since-bool": '{"token": "abc", "since": true}',
    "since-float": '{"token": "abc", "since": 1.5}',
    "since-string": '{"token": "abc", "since": "3"}',
    "binary-frame": b'{"token": "abc", "since": null}',
}


@SQLITE_ONLY
def test_bad_token_closes_with_4401_and_malformed_hello_with_4400(live: Live) -> None:
    codes = {
        name: _hello_close_code(live, json.dumps({"token": token, "since": None}))
        for name, token in BAD_TOKENS.items()
    }
    assert codes == dict.fromkeys(BAD_TOKENS, 4401)
    codes = {name: _hello_close_code(live, hello) for name, hello in MALFORMED_HELLOS.items()}
    assert codes == dict.fromkeys(MALFORMED_HELLOS, 4400)
    # None of that disturbed the server: a good hello still works.
    token = live.verified("after-the-noise")["session_token"]
    with stream(live.ws_url, token) as (_websocket, head):
        assert head == 0


@SQLITE_ONLY
def test_silent_client_is_closed_with_4400(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream_route, "HELLO_TIMEOUT_SECONDS", 0.3)
    with connect(live.ws_url, open_timeout=WS_TIMEOUT, proxy=None, legacy=True) as websocket:
        assert close_code(websocket, timeout=WS_TIMEOUT) == 4400
