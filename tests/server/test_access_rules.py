"""The access rules of issue 4, attacked the way an attacker would try to break them.

- A session sees only its own contact's data.
- An unverified session sees only what its own visitor created.
- Conversations and notifications addressed to a user id (by the server API) are
  visible only to verified sessions of that user.
- Guessing another id gives 404, not someone else's data.
- A verified identify links the visitor's anonymous conversations to the contact;
  unverified claims never see another browser's history.

Every attack uses real ids created for the victim, and every refusal is checked for
its error shape and for the absence of the victim's data in the body.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

import pytest
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from countersign import sign

from .conftest import Harness

VICTIM = "victim-42"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_error(response: Any, status: int, code: str, *absent: str) -> None:
    """``response`` is the one error shape with ``status``/``code`` and none of ``absent``."""
    assert response.status_code == status, response.text
    document = response.json()
    assert set(document) == {"error"}, document
    assert set(document["error"]) == {"code", "message"}, document
    assert document["error"]["code"] == code, document
    for text in absent:
        assert text not in response.text, f"{text!r} leaked in {response.text}"


def assert_not_found(response: Any, *absent: str) -> None:
    assert_error(response, 404, "not_found", *absent)


@dataclass
class Victim:
    """A verified user with data of every kind, each carrying a secret marker."""

    token: str
    visitor_id: str
    contact_id: str
    server_conversation: str  # started by the customer's backend
    own_conversation: str  # started by the victim's widget
    message_client_id: str
    notification: str
    secrets: tuple[str, ...]

    @property
    def conversations(self) -> tuple[str, str]:
        return self.server_conversation, self.own_conversation


def seed_victim(harness: Harness, user_id: str = VICTIM) -> Victim:
    marks = tuple(f"SECRET-{name}-{secrets.token_hex(4)}" for name in "ABCDE")
    session = harness.verified(user_id)
    token = session["session_token"]
    api = bearer(harness.api_key)
    started = harness.client.post(
        "/v1/conversations", json={"user_id": user_id, "body": marks[0]}, headers=api
    )
    assert started.status_code == 201, started.text
    own = harness.client.post(
        "/v1/widget/conversations",
        json={"body": marks[1], "client_id": "victim-client-1"},
        headers=bearer(token),
    )
    assert own.status_code == 201, own.text
    reply = harness.client.post(
        f"/v1/conversations/{own.json()['id']}/messages",
        json={"body": marks[2], "author": {"type": "operator", "name": "Ann"}},
        headers=api,
    )
    assert reply.status_code == 201, reply.text
    notified = harness.client.post(
        "/v1/notifications",
        json={"user_id": user_id, "title": marks[3], "body": marks[4]},
        headers=api,
    )
    assert notified.status_code == 201, notified.text
    event = harness.client.post(
        "/v1/widget/events", json={"name": "victim.viewed", "properties": {}}, headers=bearer(token)
    )
    assert event.status_code == 201, event.text
    return Victim(
        token=token,
        visitor_id=session["visitor_id"],
        contact_id=session["contact"]["id"],
        server_conversation=started.json()["id"],
        own_conversation=own.json()["id"],
        message_client_id="victim-client-1",
        notification=notified.json()["id"],
        secrets=marks,
    )


def guesses(real_id: str) -> list[str]:
    """The real id, and what an attacker tries next to slip past an exact match."""
    return [
        real_id,
        real_id.upper(),
        real_id.lower(),
        real_id + " ",
        " " + real_id,
        real_id[:-1],
        real_id + "%",
        f"{real_id}' OR '1'='1",
    ]


def url_id(value: str) -> str:
    return quote(value, safe="")


def assert_victim_untouched(harness: Harness, victim: Victim) -> None:
    """The victim's own view is exactly what seed_victim left: nothing added, nothing read."""
    headers = bearer(victim.token)
    listed = harness.client.get("/v1/widget/conversations", headers=headers).json()
    assert {c["id"] for c in listed["data"]} == set(victim.conversations)
    own = harness.client.get(
        f"/v1/widget/conversations/{victim.own_conversation}/messages", headers=headers
    ).json()["data"]
    assert [m["body"] for m in own] == [victim.secrets[1], victim.secrets[2]]
    started = harness.client.get(
        f"/v1/widget/conversations/{victim.server_conversation}/messages", headers=headers
    ).json()["data"]
    assert [m["body"] for m in started] == [victim.secrets[0]]
    notifications = harness.client.get("/v1/widget/notifications", headers=headers).json()
    assert notifications["unread_count"] == 1
    assert [n["read"] for n in notifications["data"]] == [False]


def assert_sees_none_of(harness: Harness, token: str, victim: Victim) -> None:
    """Every list of ``token``'s session is free of the victim's data."""
    headers = bearer(token)
    conversations = harness.client.get("/v1/widget/conversations", headers=headers)
    assert conversations.status_code == 200, conversations.text
    assert not {c["id"] for c in conversations.json()["data"]} & set(victim.conversations)
    assert all(c["contact_id"] != victim.contact_id for c in conversations.json()["data"])
    notifications = harness.client.get("/v1/widget/notifications", headers=headers)
    assert notifications.status_code == 200, notifications.text
    assert notifications.json() == {"data": [], "next_cursor": None, "unread_count": 0}
    for response in (conversations, notifications):
        for mark in victim.secrets:
            assert mark not in response.text


def assert_cannot_name(
    harness: Harness, token: str, victim: Victim, *, near_misses: bool = False
) -> None:
    """Every widget route that takes an id answers 404 for the victim's real ids (and,
    with ``near_misses``, for the usual variations), with no victim data in the answer."""
    headers = bearer(token)
    client = harness.client
    variations = guesses if near_misses else (lambda real: [real])
    for conversation in victim.conversations:
        for guess in variations(conversation):
            path = f"/v1/widget/conversations/{url_id(guess)}/messages"
            assert_not_found(client.get(path, headers=headers), *victim.secrets)
            posted = client.post(path, json={"body": "let me in"}, headers=headers)
            assert_not_found(posted, *victim.secrets)
            # Replaying the victim's own client_id must not return the victim's message.
            replay = client.post(
                path,
                json={"body": "let me in", "client_id": victim.message_client_id},
                headers=headers,
            )
            assert_not_found(replay, *victim.secrets)
    for guess in variations(victim.notification):
        read = client.post(f"/v1/widget/notifications/{url_id(guess)}/read", headers=headers)
        assert_not_found(read, *victim.secrets)


def identify_ok(harness: Harness, **fields: Any) -> dict[str, Any]:
    response = harness.identify(**fields)
    assert response.status_code == 200, response.text
    return response.json()


# ------------------------------------------------------------------ websocket helpers


def open_stream(
    harness: Harness, token: str, since: int | None = None
) -> tuple[WebSocketTestSession, int]:
    """A connected stream (its context entered) and the ``seq`` of its ready message."""
    socket = harness.client.websocket_connect("/v1/widget/stream").__enter__()
    socket.send_json({"token": token, "since": since})
    ready = socket.receive_json()
    assert ready["type"] == "ready", ready
    return socket, ready["seq"]


def close_stream(socket: WebSocketTestSession) -> None:
    socket.__exit__(None, None, None)


def receive_until(
    socket: WebSocketTestSession, done: Callable[[dict[str, Any]], bool]
) -> list[dict[str, Any]]:
    """Everything received up to and including the first event ``done`` accepts."""
    received: list[dict[str, Any]] = []
    while True:
        event = socket.receive_json()
        received.append(event)
        if done(event):
            return received


def sentinel(harness: Harness, token: str) -> str:
    """Something the session itself does, so its stream gets a known next event: what
    arrives before it is everything the stream was sent in between."""
    response = harness.client.post("/v1/widget/conversations", json={}, headers=bearer(token))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def is_conversation(conversation_id: str) -> Callable[[dict[str, Any]], bool]:
    return lambda event: (
        event["type"] == "conversation.created" and event["data"]["id"] == conversation_id
    )


def assert_no_victim_data(events: Iterable[dict[str, Any]], victim: Victim) -> None:
    for event in events:
        text = repr(event)
        for mark in victim.secrets:
            assert mark not in text, f"{mark} reached an impersonator's stream: {event}"
        assert victim.contact_id not in text
        for conversation in victim.conversations:
            assert conversation not in text
        assert victim.notification not in text


# ------------------------------------------------------------------------- 404 rules


def test_guessing_the_victims_ids_answers_404_on_every_widget_route(harness: Harness) -> None:
    victim = seed_victim(harness)
    anonymous = identify_ok(harness)["session_token"]
    other_user = harness.verified("mallory")["session_token"]
    harness.set_policy(identity_mode="report")
    claimed = identify_ok(harness, user_id=VICTIM, user_hash="0" * 64)
    assert claimed["identity"]["status"] == "unverified"
    # The near misses once (they name nothing for anyone), the real ids for every kind.
    assert_cannot_name(harness, claimed["session_token"], victim, near_misses=True)
    for token in (anonymous, other_user, claimed["session_token"]):
        assert_cannot_name(harness, token, victim)
        assert_sees_none_of(harness, token, victim)
    assert_victim_untouched(harness, victim)


def test_ids_that_cannot_exist_are_404_too(harness: Harness) -> None:
    """Ids no database holds (too long, control characters, non-ASCII) are plain 404s."""
    token = harness.verified("someone")["session_token"]
    headers = bearer(token)
    odd = ["x" * 2000, "cnv_\x01", "cnv_\x7f", "cnv_\u00e9", "cnv_\U0001f600", ".."]
    for value in odd:
        path = f"/v1/widget/conversations/{url_id(value)}/messages"
        assert_not_found(harness.client.get(path, headers=headers))
        assert_not_found(harness.client.post(path, json={"body": "x"}, headers=headers))
        read = harness.client.post(
            f"/v1/widget/notifications/{url_id(value)}/read", headers=headers
        )
        assert_not_found(read)
    # A NUL (which PostgreSQL cannot even compare) is refused before any route: 400.
    for path in ("/v1/widget/conversations/cnv_%00/messages", "/v1/widget/notifications/%00/read"):
        assert_error(
            harness.client.post(path, json={"body": "x"}, headers=headers), 400, "bad_request"
        )
    assert_error(
        harness.client.get("/v1/widget/conversations/cnv_%00/messages", headers=headers),
        400,
        "bad_request",
    )


# ------------------------------------------------------------ impersonators see nothing


def test_unverified_claims_of_the_victims_id_see_none_of_the_victims_data(
    harness: Harness,
) -> None:
    victim = seed_victim(harness)
    api = bearer(harness.api_key)
    impostors: list[str] = []
    # report: the wrong hash is logged and the claim accepted as unverified.
    harness.set_policy(identity_mode="report")
    for user_hash in (None, "0" * 64, VICTIM, sign(harness.secret, VICTIM.upper())):
        fields: dict[str, Any] = {"user_id": VICTIM}
        if user_hash is not None:
            fields["user_hash"] = user_hash
        document = identify_ok(harness, **fields)
        assert document["identity"]["status"] == "unverified"
        assert document["contact"]["verified"] is False
        assert document["contact"]["id"] != victim.contact_id
        impostors.append(document["session_token"])
    # off: every claim is accepted unverified.
    harness.set_policy(identity_mode="off")
    document = identify_ok(harness, user_id=VICTIM)
    assert document["identity"]["status"] == "unverified"
    impostors.append(document["session_token"])
    for token in impostors:
        assert_sees_none_of(harness, token, victim)
        assert_cannot_name(harness, token, victim)
        # What an impostor does is not recorded as the victim's doing.
        tracked = harness.client.post(
            "/v1/widget/events", json={"name": "impostor.did-this"}, headers=bearer(token)
        )
        assert tracked.status_code == 201
        started = harness.client.post(
            "/v1/widget/conversations", json={"body": "impostor talking"}, headers=bearer(token)
        )
        assert started.status_code == 201
    events = harness.client.get(f"/v1/users/{VICTIM}/events", headers=api).json()["data"]
    assert [e["name"] for e in events] == ["victim.viewed"]
    listed = harness.client.get(f"/v1/users/{VICTIM}/conversations", headers=api).json()["data"]
    assert {c["id"] for c in listed} == set(victim.conversations)
    assert_victim_untouched(harness, victim)


def test_an_anonymous_browser_sees_nothing_but_its_own(harness: Harness) -> None:
    victim = seed_victim(harness)
    first = identify_ok(harness)
    second = identify_ok(harness)
    assert first["visitor_id"] != second["visitor_id"]
    mine = harness.client.post(
        "/v1/widget/conversations",
        json={"body": "first browser's question"},
        headers=bearer(first["session_token"]),
    ).json()["id"]
    for document in (first, second):
        assert_sees_none_of(harness, document["session_token"], victim)
        assert_cannot_name(harness, document["session_token"], victim)
    # The second browser cannot name the first one's conversation either.
    path = f"/v1/widget/conversations/{mine}/messages"
    second_headers = bearer(second["session_token"])
    assert_not_found(harness.client.get(path, headers=second_headers), "first browser's question")
    assert_not_found(harness.client.post(path, json={"body": "x"}, headers=second_headers))
    # A visitor id the server never handed out is not adopted: a fresh visitor.
    made_up = identify_ok(harness, visitor_id="vis_" + "A" * 16)
    assert made_up["visitor_id"] != "vis_" + "A" * 16
    assert_sees_none_of(harness, made_up["session_token"], victim)
    assert_victim_untouched(harness, victim)


def test_required_anonymous_mode_turns_a_wrong_hash_into_an_anonymous_visitor(
    harness: Harness,
) -> None:
    victim = seed_victim(harness)
    harness.set_policy(identity_mode="required", on_mismatch="anonymous")
    wrong_hashes = [
        "0" * 64,
        VICTIM,
        sign(harness.secret, VICTIM + " "),
        sign(harness.app_id, VICTIM),
        sign(harness.secret, VICTIM)[:-2] + "00",
    ]
    for user_hash in wrong_hashes:
        document = identify_ok(harness, user_id=VICTIM, user_hash=user_hash)
        assert document["identity"]["status"] == "anonymous"
        contact = document["contact"]
        assert contact["verified"] is False
        assert contact["user_id"] is None
        assert contact["id"] != victim.contact_id
        token = document["session_token"]
        assert_sees_none_of(harness, token, victim)
        assert_cannot_name(harness, token, victim)
        me = harness.client.get("/v1/widget/session", headers=bearer(token)).json()
        assert me["identity"]["status"] == "anonymous"
        assert me["contact_id"] != victim.contact_id
    # The reject policy refuses the same claims outright.
    harness.set_policy(on_mismatch="reject")
    refused = harness.identify(user_id=VICTIM, user_hash="0" * 64)
    assert_error(refused, 401, "identity_verification_failed", *victim.secrets)
    assert "session_token" not in refused.text
    assert_victim_untouched(harness, victim)


# --------------------------------------------------------------------------- streams


def test_an_impersonators_stream_never_receives_the_victims_live_events(
    harness: Harness,
) -> None:
    victim = seed_victim(harness)
    api = bearer(harness.api_key)
    anonymous = identify_ok(harness)["session_token"]
    harness.set_policy(identity_mode="report")
    claimed = identify_ok(harness, user_id=VICTIM, user_hash="0" * 64)["session_token"]
    harness.set_policy(identity_mode="required", on_mismatch="anonymous")
    dropped = identify_ok(harness, user_id=VICTIM, user_hash="0" * 64)["session_token"]
    impostors = [anonymous, claimed, dropped]

    victim_stream, _ = open_stream(harness, victim.token)
    # since=0: replay everything the impersonator's contact has; none of it is the victim's.
    streams = [open_stream(harness, token, since=0) for token in impostors]
    try:
        for _, head in streams:
            assert head == 0
        live = "LIVE-" + secrets.token_hex(4)
        harness.client.post(
            f"/v1/conversations/{victim.server_conversation}/messages",
            json={"body": live, "author": {"type": "bot", "name": "Bot"}},
            headers=api,
        )
        harness.client.post(
            f"/v1/widget/conversations/{victim.own_conversation}/messages",
            json={"body": live + "-widget"},
            headers=bearer(victim.token),
        )
        harness.client.post(
            "/v1/notifications", json={"user_id": VICTIM, "title": live + "-note"}, headers=api
        )
        # The victim's own stream (the control) gets all three, live.
        got = [victim_stream.receive_json() for _ in range(3)]
        assert [e["type"] for e in got] == [
            "message.created",
            "message.created",
            "notification.created",
        ]
        assert got[0]["data"]["body"] == live
        for (socket, _), token in zip(streams, impostors, strict=True):
            mine = sentinel(harness, token)
            received = receive_until(socket, is_conversation(mine))
            assert len(received) == 1, received  # nothing arrived before the sentinel
            assert_no_victim_data(received, victim)
            assert live not in repr(received)
    finally:
        for socket, _ in streams:
            close_stream(socket)
        close_stream(victim_stream)


def test_an_unverified_session_never_receives_notifications_for_the_verified_user(
    harness: Harness,
) -> None:
    api = bearer(harness.api_key)
    user = "notify-me"
    verified = harness.verified(user)["session_token"]
    harness.set_policy(identity_mode="report")
    unverified = identify_ok(harness, user_id=user)
    assert unverified["identity"]["status"] == "unverified"
    token = unverified["session_token"]
    harness.set_policy(identity_mode="off")
    off_claim = identify_ok(harness, user_id=user)["session_token"]

    verified_stream, _ = open_stream(harness, verified)
    impostor_streams = [open_stream(harness, t, since=0)[0] for t in (token, off_claim)]
    try:
        sent = harness.client.post(
            "/v1/notifications",
            json={"user_id": user, "title": "for the verified user only", "data": {"k": 1}},
            headers=api,
        )
        assert sent.status_code == 201, sent.text
        note = sent.json()["id"]
        event = verified_stream.receive_json()
        assert event["type"] == "notification.created"
        assert event["data"]["id"] == note
        for socket, session in zip(impostor_streams, (token, off_claim), strict=True):
            # The impostor tries to mark it read: 404, and no notification.read for anyone.
            read = harness.client.post(
                f"/v1/widget/notifications/{note}/read", headers=bearer(session)
            )
            assert_not_found(read, "for the verified user only")
            mine = sentinel(harness, session)
            received = receive_until(socket, is_conversation(mine))
            assert [e["type"] for e in received] == ["conversation.created"]
            listed = harness.client.get("/v1/widget/notifications", headers=bearer(session))
            assert listed.json() == {"data": [], "next_cursor": None, "unread_count": 0}
    finally:
        for socket in impostor_streams:
            close_stream(socket)
        close_stream(verified_stream)
    # A reconnect that replays from 0 brings nothing of the user's either.
    replay, head = open_stream(harness, token, since=0)
    try:
        mine = sentinel(harness, token)
        received = receive_until(replay, is_conversation(mine))
        assert all(e["type"] != "notification.created" for e in received), received
        assert "for the verified user only" not in repr(received)
    finally:
        close_stream(replay)
    assert head == 1  # the impostor's own first conversation, nothing else


# --------------------------------------------------------------------------- apps


def test_a_session_of_one_app_cannot_reach_another_apps_data_with_the_same_user_id(
    make_harness: Callable[..., Harness],
) -> None:
    app_a = make_harness()
    app_b = make_harness()
    assert app_a.app_id != app_b.app_id
    victim_b = seed_victim(app_b, user_id="shared-user")
    session_a = app_a.verified("shared-user")
    token_a = session_a["session_token"]
    assert session_a["contact"]["id"] != victim_b.contact_id
    # Same user id, other app: a different contact with none of B's data.
    assert_sees_none_of(app_a, token_a, victim_b)
    assert_cannot_name(app_a, token_a, victim_b)
    # Through B's server too (both serve the same database, like two nodes).
    assert_sees_none_of(app_b, token_a, victim_b)
    assert_cannot_name(app_b, token_a, victim_b)
    # B's hash presented to A proves nothing: each app has its own secret.
    refused = app_a.identify(user_id="shared-user", user_hash=sign(app_b.secret, "shared-user"))
    assert_error(refused, 401, "identity_verification_failed")
    # An anonymous visitor id of app B, replayed at app A, is not adopted.
    anonymous_b = identify_ok(app_b)
    anonymous_b_conversation = app_b.client.post(
        "/v1/widget/conversations",
        json={"body": "B-anon-question"},
        headers=bearer(anonymous_b["session_token"]),
    ).json()["id"]
    replayed = identify_ok(app_a, visitor_id=anonymous_b["visitor_id"])
    assert replayed["visitor_id"] != anonymous_b["visitor_id"]
    listed = app_a.client.get("/v1/widget/conversations", headers=bearer(replayed["session_token"]))
    assert listed.json()["data"] == []
    assert_not_found(
        app_a.client.get(
            f"/v1/widget/conversations/{anonymous_b_conversation}/messages",
            headers=bearer(replayed["session_token"]),
        ),
        "B-anon-question",
    )
    # A's events are not B's user's events.
    app_a.client.post("/v1/widget/events", json={"name": "a.only"}, headers=bearer(token_a))
    events_b = app_b.client.get(
        "/v1/users/shared-user/events", headers=bearer(app_b.api_key)
    ).json()["data"]
    assert [e["name"] for e in events_b] == ["victim.viewed"]
    assert_victim_untouched(app_b, victim_b)


def test_a_server_api_key_of_one_app_cannot_touch_another_apps_conversations(
    make_harness: Callable[..., Harness],
) -> None:
    app_a = make_harness()
    app_b = make_harness()
    victim_b = seed_victim(app_b, user_id="shared-user")
    key_a = bearer(app_a.api_key)
    for client in (app_a.client, app_b.client):
        for conversation in victim_b.conversations:
            path = f"/v1/conversations/{conversation}/messages"
            posted = client.post(
                path,
                json={"body": "from app A", "author": {"type": "bot", "name": "A"}},
                headers=key_a,
            )
            assert_not_found(posted, *victim_b.secrets)
            assert_not_found(client.get(path, headers=key_a), *victim_b.secrets)
        # A's key, B's user id: A's (empty) view of that id, never B's.
        listed = client.get("/v1/users/shared-user/conversations", headers=key_a)
        assert listed.json() == {"data": [], "next_cursor": None}
        events = client.get("/v1/users/shared-user/events", headers=key_a)
        assert events.json()["data"] == []
        # A session token, or B's key mangled, is not an API key at all.
        for bad in (victim_b.token, app_b.api_key[:-1], app_b.api_key.upper()):
            refused = client.get("/v1/users/shared-user/conversations", headers=bearer(bad))
            assert_error(refused, 401, "invalid_api_key", *victim_b.secrets)
    # A notification from A to "shared-user" reaches A's user, not B's.
    app_a.client.post(
        "/v1/notifications", json={"user_id": "shared-user", "title": "from A"}, headers=key_a
    )
    assert_victim_untouched(app_b, victim_b)
    token_a = app_a.verified("shared-user")["session_token"]
    notes_a = app_a.client.get("/v1/widget/notifications", headers=bearer(token_a)).json()
    assert [n["title"] for n in notes_a["data"]] == ["from A"]
    # An API key is not a widget session either.
    refused = app_a.client.get("/v1/widget/conversations", headers=key_a)
    assert_error(refused, 401, "invalid_session")


# ------------------------------------------------------------------ devices, logout


def test_a_verified_second_device_sees_the_whole_history(harness: Harness) -> None:
    victim = seed_victim(harness)
    harness.client.post(
        f"/v1/widget/notifications/{victim.notification}/read", headers=bearer(victim.token)
    )
    second = harness.verified(VICTIM)
    assert second["visitor_id"] != victim.visitor_id
    assert second["contact"]["id"] == victim.contact_id
    headers = bearer(second["session_token"])
    listed = harness.client.get("/v1/widget/conversations", headers=headers).json()["data"]
    assert {c["id"] for c in listed} == set(victim.conversations)
    own = harness.client.get(
        f"/v1/widget/conversations/{victim.own_conversation}/messages", headers=headers
    ).json()["data"]
    assert [m["body"] for m in own] == [victim.secrets[1], victim.secrets[2]]
    notes = harness.client.get("/v1/widget/notifications", headers=headers).json()
    assert notes["unread_count"] == 0
    assert [(n["id"], n["read"]) for n in notes["data"]] == [(victim.notification, True)]
    # The first device keeps working, and sees the second device's message live.
    first_stream, _ = open_stream(harness, victim.token)
    second_stream, head = open_stream(harness, second["session_token"], since=0)
    try:
        # Replay from 0 on the new device: the user's whole stream, in order.
        replayed = [second_stream.receive_json() for _ in range(head)]
        assert [e["seq"] for e in replayed] == list(range(1, head + 1))
        assert {"conversation.created", "message.created", "notification.created"} <= {
            e["type"] for e in replayed
        }
        sent = harness.client.post(
            f"/v1/widget/conversations/{victim.own_conversation}/messages",
            json={"body": "from the phone"},
            headers=headers,
        )
        assert sent.status_code == 201
        for socket in (first_stream, second_stream):
            event = socket.receive_json()
            assert event["type"] == "message.created"
            assert event["data"]["body"] == "from the phone"
            assert event["seq"] == head + 1
    finally:
        close_stream(second_stream)
        close_stream(first_stream)


def _every_session_route(client: Any, headers: dict[str, str], ids: Victim) -> list[Any]:
    conversation = ids.own_conversation
    return [
        client.get("/v1/widget/session", headers=headers),
        client.get("/v1/widget/conversations", headers=headers),
        client.post("/v1/widget/conversations", json={"body": "x"}, headers=headers),
        client.get(f"/v1/widget/conversations/{conversation}/messages", headers=headers),
        client.post(
            f"/v1/widget/conversations/{conversation}/messages",
            json={"body": "x"},
            headers=headers,
        ),
        client.get("/v1/widget/notifications", headers=headers),
        client.post(f"/v1/widget/notifications/{ids.notification}/read", headers=headers),
        client.post("/v1/widget/events", json={"name": "x"}, headers=headers),
        client.post("/v1/widget/logout", headers=headers),
    ]


def test_after_logout_the_old_token_is_refused_everywhere(harness: Harness) -> None:
    victim = seed_victim(harness)
    headers = bearer(victim.token)
    out = harness.client.post("/v1/widget/logout", headers=headers)
    assert out.status_code == 200, out.text
    for response in _every_session_route(harness.client, headers, victim):
        assert_error(response, 401, "invalid_session", *victim.secrets)
    # The stream refuses it too.
    with harness.client.websocket_connect("/v1/widget/stream") as socket:
        socket.send_json({"token": victim.token, "since": 0})
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json()
    assert closed.value.code == 4401
    # Nothing was done with the dead token: the victim's data is as it was.
    second = harness.verified(VICTIM)["session_token"]
    assert_victim_untouched(harness, replace(victim, token=second))
    # The widget's next, anonymous identify sees an empty history, with or without the
    # browser's old visitor id.
    for fields in ({}, {"visitor_id": victim.visitor_id}):
        fresh = identify_ok(harness, **fields)
        assert fresh["identity"]["status"] == "anonymous"
        assert fresh["contact"]["id"] != victim.contact_id
        listed = harness.client.get(
            "/v1/widget/conversations", headers=bearer(fresh["session_token"])
        )
        assert listed.json() == {"data": [], "next_cursor": None}
        assert_sees_none_of(harness, fresh["session_token"], victim)
        assert_cannot_name(harness, fresh["session_token"], victim)


def test_logout_ends_an_open_stream_before_anything_else_is_sent(harness: Harness) -> None:
    victim = seed_victim(harness)
    socket, _ = open_stream(harness, victim.token)
    try:
        out = harness.client.post("/v1/widget/logout", headers=bearer(victim.token))
        assert out.status_code == 200
        harness.client.post(
            f"/v1/conversations/{victim.server_conversation}/messages",
            json={"body": "after logout", "author": {"type": "bot", "name": "Bot"}},
            headers=bearer(harness.api_key),
        )
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json()
        assert closed.value.code == 4401
    finally:
        close_stream(socket)


# ---------------------------------------------------------------- history follows


def test_a_verified_identify_brings_the_browsers_anonymous_conversations_along(
    harness: Harness,
) -> None:
    anonymous = identify_ok(harness)
    before = harness.client.post(
        "/v1/widget/conversations",
        json={"body": "asked before logging in"},
        headers=bearer(anonymous["session_token"]),
    ).json()["id"]
    verified = harness.verified("follower", visitor_id=anonymous["visitor_id"])
    assert verified["visitor_id"] == anonymous["visitor_id"]
    listed = harness.client.get(
        "/v1/widget/conversations", headers=bearer(verified["session_token"])
    ).json()["data"]
    assert before in {c["id"] for c in listed}
    # ... and on the user's other device, and for the customer's backend.
    other = harness.verified("follower")["session_token"]
    messages = harness.client.get(
        f"/v1/widget/conversations/{before}/messages", headers=bearer(other)
    )
    assert messages.status_code == 200
    assert [m["body"] for m in messages.json()["data"]] == ["asked before logging in"]
    by_api = harness.client.get(
        "/v1/users/follower/conversations", headers=bearer(harness.api_key)
    ).json()["data"]
    assert before in {c["id"] for c in by_api}


def test_a_browser_claiming_the_user_unverified_never_sees_the_users_history(
    harness: Harness,
) -> None:
    # Browser A: asks anonymously, then proves it is "follower" and talks some more.
    anonymous = identify_ok(harness)
    before = harness.client.post(
        "/v1/widget/conversations",
        json={"body": "A asked anonymously"},
        headers=bearer(anonymous["session_token"]),
    ).json()["id"]
    proven = harness.verified("follower", visitor_id=anonymous["visitor_id"])
    after = harness.client.post(
        "/v1/widget/conversations",
        json={"body": "A asked as follower"},
        headers=bearer(proven["session_token"]),
    ).json()["id"]
    api = bearer(harness.api_key)
    addressed = harness.client.post(
        "/v1/conversations", json={"user_id": "follower", "body": "to follower"}, headers=api
    ).json()["id"]
    history = {before, after, addressed}
    texts = ["A asked anonymously", "A asked as follower", "to follower"]

    # Browser B claims "follower" without proof, in report and off mode, with and
    # without an anonymous history of its own.
    harness.set_policy(identity_mode="report")
    b_anonymous = identify_ok(harness)
    b_own = harness.client.post(
        "/v1/widget/conversations",
        json={"body": "B's own"},
        headers=bearer(b_anonymous["session_token"]),
    ).json()["id"]
    claims = [
        identify_ok(harness, user_id="follower"),
        identify_ok(harness, user_id="follower", visitor_id=b_anonymous["visitor_id"]),
        identify_ok(harness, user_id="follower", user_hash="f" * 64),
    ]
    harness.set_policy(identity_mode="off")
    claims.append(identify_ok(harness, user_id="follower"))
    for claim in claims:
        assert claim["identity"]["status"] == "unverified"
        token = claim["session_token"]
        listed = harness.client.get("/v1/widget/conversations", headers=bearer(token))
        seen = {c["id"] for c in listed.json()["data"]}
        assert not seen & history, listed.text
        for text in texts:
            assert text not in listed.text
        for conversation in history:
            path = f"/v1/widget/conversations/{conversation}/messages"
            assert_not_found(harness.client.get(path, headers=bearer(token)), *texts)
    # B's unverified claim keeps B's own history (its visitor's), and only B's.
    assert b_own in {
        c["id"]
        for c in harness.client.get(
            "/v1/widget/conversations", headers=bearer(claims[1]["session_token"])
        ).json()["data"]
    }
    # An unverified claim never hands B's anonymous conversation to the verified user.
    by_api = harness.client.get("/v1/users/follower/conversations", headers=api).json()["data"]
    assert b_own not in {c["id"] for c in by_api}
    verified_view = harness.client.get(
        "/v1/widget/conversations", headers=bearer(proven["session_token"])
    ).json()["data"]
    assert b_own not in {c["id"] for c in verified_view}


def test_an_unverified_claim_in_the_users_own_browser_does_not_reopen_the_verified_history(
    harness: Harness,
) -> None:
    """The same browser (same visitor id) identifies verified, then claims the same user
    without proof: the claim gets none of the verified history, and the verified session
    of that browser ends (a change of identity ends the previous identity's access)."""
    proven = harness.verified("same-browser")
    secret_text = "verified-only " + secrets.token_hex(4)
    conversation = harness.client.post(
        "/v1/widget/conversations",
        json={"body": secret_text},
        headers=bearer(proven["session_token"]),
    ).json()["id"]
    harness.set_policy(identity_mode="report")
    claim = identify_ok(  # the widget identifies again holding its session's token
        harness,
        user_id="same-browser",
        user_hash="0" * 64,
        visitor_id=proven["visitor_id"],
        headers=bearer(proven["session_token"]),
    )
    assert claim["identity"]["status"] == "unverified"
    assert claim["visitor_id"] != proven["visitor_id"]  # that browser's visitor retired
    token = claim["session_token"]
    listed = harness.client.get("/v1/widget/conversations", headers=bearer(token))
    assert conversation not in listed.text
    assert secret_text not in listed.text
    path = f"/v1/widget/conversations/{conversation}/messages"
    assert_not_found(harness.client.get(path, headers=bearer(token)), secret_text)
    dead = harness.client.get("/v1/widget/session", headers=bearer(proven["session_token"]))
    assert_error(dead, 401, "invalid_session")
