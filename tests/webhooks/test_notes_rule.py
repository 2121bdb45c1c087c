"""A private note never reaches the contact, nor a webhook endpoint that did not ask for
``note.created`` (SPEC 10), tested the way the webhooks' identity rule is
(tests/webhooks/test_identity_privacy.py): a note with a unique marker, then every
route a contact's widget can call, the stream (live and replayed), and every delivery
to an endpoint subscribed to everything else; the marker is in no byte of any of them,
headers included. The control: the endpoint that subscribed to ``note.created`` gets it.

The walk below must name every widget route the server has (checked against its own
OpenAPI document), so a new contact-facing route cannot be left out of it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from countersign.storage import operators
from countersign.vocabulary.clock import utcnow
from countersign.vocabulary.webhook_events import EVENT_TYPES, NOTE_CREATED
from tests.server.conftest import Harness
from tests.webhooks.conftest import FAST, add_endpoint
from tests.webhooks.receiver import Receiver

MARKER = "note-marker-7f3a9c1e"

Call = Callable[[Any, dict[str, str], dict[str, str]], Any]

#: (method, path) -> the call, given the client, the session headers and the ids.
WALK: dict[tuple[str, str], Call] = {
    ("POST", "/v1/widget/identify"): lambda c, h, ids: c.post(
        "/v1/widget/identify", json={"app_id": ids["app_id"], "visitor_id": ids["visitor_id"]}
    ),
    ("GET", "/v1/widget/session"): lambda c, h, ids: c.get("/v1/widget/session", headers=h),
    ("GET", "/v1/widget/conversations"): lambda c, h, ids: c.get(
        "/v1/widget/conversations", headers=h
    ),
    ("POST", "/v1/widget/conversations"): lambda c, h, ids: c.post(
        "/v1/widget/conversations", json={"body": "another"}, headers=h
    ),
    ("GET", "/v1/widget/conversations/{conversation_id}/messages"): lambda c, h, ids: c.get(
        f"/v1/widget/conversations/{ids['conversation']}/messages", headers=h
    ),
    ("POST", "/v1/widget/conversations/{conversation_id}/messages"): lambda c, h, ids: c.post(
        f"/v1/widget/conversations/{ids['conversation']}/messages",
        json={"body": "after the note"},
        headers=h,
    ),
    ("POST", "/v1/widget/conversations/{conversation_id}/typing"): lambda c, h, ids: c.post(
        f"/v1/widget/conversations/{ids['conversation']}/typing", headers=h
    ),
    ("POST", "/v1/widget/conversations/{conversation_id}/read"): lambda c, h, ids: c.post(
        f"/v1/widget/conversations/{ids['conversation']}/read", json={"up_to_seq": 0}, headers=h
    ),
    ("POST", "/v1/widget/events"): lambda c, h, ids: c.post(
        "/v1/widget/events", json={"name": "clicked"}, headers=h
    ),
    ("GET", "/v1/widget/notifications"): lambda c, h, ids: c.get(
        "/v1/widget/notifications", headers=h
    ),
    ("GET", "/v1/widget/notifications/counts"): lambda c, h, ids: c.get(
        "/v1/widget/notifications/counts", headers=h
    ),
    ("POST", "/v1/widget/notifications/seen"): lambda c, h, ids: c.post(
        "/v1/widget/notifications/seen", json={}, headers=h
    ),
    ("POST", "/v1/widget/notifications/read-all"): lambda c, h, ids: c.post(
        "/v1/widget/notifications/read-all", json={}, headers=h
    ),
    ("POST", "/v1/widget/notifications/archive-all"): lambda c, h, ids: c.post(
        "/v1/widget/notifications/archive-all", json={}, headers=h
    ),
    **{
        ("POST", f"/v1/widget/notifications/{{notification_id}}/{verb}"): (
            lambda c, h, ids, verb=verb: c.post(
                f"/v1/widget/notifications/{ids['notification']}/{verb}", headers=h
            )
        )
        for verb in ("read", "unread", "archive", "unarchive")
    },
    ("GET", "/v1/widget/preferences"): lambda c, h, ids: c.get("/v1/widget/preferences", headers=h),
    ("PUT", "/v1/widget/preferences"): lambda c, h, ids: c.put(
        "/v1/widget/preferences", json={"categories": {}}, headers=h
    ),
    ("POST", "/v1/widget/actions/{name}"): lambda c, h, ids: c.post(
        "/v1/widget/actions/nothing", json={"parameters": {}}, headers=h
    ),
    ("GET", "/widget.js"): lambda c, h, ids: c.get("/widget.js"),
    ("POST", "/v1/widget/logout"): lambda c, h, ids: c.post("/v1/widget/logout", headers=h),
}


def widget_routes(harness: Harness) -> set[tuple[str, str]]:
    document = harness.client.get("/openapi.json").json()
    return {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if "widget" in operation.get("tags", [])
    }


def raw(response: Any) -> bytes:
    return response.content + repr(sorted(response.headers.items())).encode()


def stream_frames(harness: Harness, token: str, until: Callable[[dict[str, Any]], bool]) -> bytes:
    """The widget stream replayed from the start, until a frame meets ``until``: every
    byte it sent."""
    seen = b""
    with harness.client.websocket_connect("/v1/widget/stream") as socket:
        socket.send_json({"token": token, "since": 0})
        while True:
            text = socket.receive_text()
            seen += text.encode()
            if until(json.loads(text)):
                return seen


def test_a_note_reaches_no_contact_and_no_unsubscribed_endpoint(
    make_harness: Callable[..., Harness], receiver: Receiver
) -> None:
    subscriber = Receiver()
    subscriber.start()
    try:
        harness = make_harness(**FAST)
        assert set(WALK) == widget_routes(harness), "walk every contact-facing route"
        others = tuple(event for event in EVENT_TYPES if event != NOTE_CREATED)
        add_endpoint(harness, receiver.url, others)
        add_endpoint(harness, subscriber.url, (NOTE_CREATED,))
        harness.backend.database.run_sync(
            lambda c: operators.create_operator(
                c,
                # Assigned below: an operator's email must not reach the contact either
                # (a webhook may carry it; the walk and the stream must not).
                email=f"{MARKER}@example.com",
                password_hash=operators.NO_PASSWORD,
                role="agent",
                name="Ada",
                now=utcnow(),
            )
        )
        identified = harness.verified("user-1")
        token = identified["session_token"]
        session = harness.session_headers(token)
        key = {"Authorization": f"Bearer {harness.api_key}"}
        started = harness.client.post(
            "/v1/widget/conversations", json={"body": "hello"}, headers=session
        )
        conversation = started.json()["id"]
        notified = harness.client.post(
            "/v1/notifications", json={"user_id": "user-1", "title": "Hi"}, headers=key
        )
        assert notified.status_code == 201, notified.text

        with harness.client.websocket_connect("/v1/widget/stream") as live:
            live.send_json({"token": token, "since": 0})
            live_bytes = live.receive_text().encode()  # ready
            # The note, and everything around it that does reach the contact.
            note = harness.client.post(
                f"/v1/conversations/{conversation}/notes",
                json={"body": f"private: {MARKER}", "author": {"name": "Ada"}},
                headers=key,
            )
            assert note.status_code == 201, note.text
            assigned = harness.client.patch(
                f"/v1/conversations/{conversation}",
                json={"assignee_email": f"{MARKER}@example.com", "status": "resolved"},
                headers=key,
            )
            assert assigned.status_code == 200, assigned.text
            ids = {
                "app_id": harness.app_id,
                "visitor_id": identified["visitor_id"],
                "conversation": conversation,
                "notification": notified.json()["id"],
            }
            for (method, path), call in WALK.items():
                if path == "/v1/widget/logout":
                    continue  # last: it ends the session the rest use
                response = call(harness.client, session, ids)
                assert response.status_code < 500, (method, path, response.text)
                assert MARKER.encode() not in raw(response), (method, path)
            # The contact's message after the note: once the stream has it, it had
            # its chance to carry the note (the stream is in order).
            while True:
                text = live.receive_text()
                live_bytes += text.encode()
                if "after the note" in text:
                    break
        assert MARKER.encode() not in live_bytes
        assert b"conversation.updated" in live_bytes  # the status did reach the contact
        replayed = stream_frames(harness, token, lambda f: "after the note" in str(f))
        assert MARKER.encode() not in replayed

        # The webhooks: the subscriber got the note; nobody else got a byte of it.
        subscriber.wait_for(lambda got: len(got) >= 1)
        expected = {"message.created", "conversation.status_changed", "conversation.assigned"}
        receiver.wait_for(
            lambda got: expected <= {item.headers["x-countersign-event-type"] for item in got}
        )
        time.sleep(0.5)  # anything else on its way arrives too
        for item in receiver.snapshot():
            body = item.body + repr(sorted(item.headers.items())).encode()
            assert b"private: " + MARKER.encode() not in body
            assert item.headers["x-countersign-event-type"] != NOTE_CREATED
            assert b'"note"' not in item.body
        notes = [item.json() for item in subscriber.snapshot()]
        assert [n["type"] for n in notes] == [NOTE_CREATED]
        assert notes[0]["data"]["note"]["body"] == f"private: {MARKER}"

        logout = WALK[("POST", "/v1/widget/logout")](harness.client, session, ids)
        assert MARKER.encode() not in raw(logout)
    finally:
        subscriber.stop()
