"""The inbox: order, unread markers, who the contact is, and replies that travel live."""

from __future__ import annotations

import re
from typing import Any

import pytest
from starlette.websockets import WebSocketDisconnect

from countersign import sign

from .conftest import Dashboard, csrf_of


def rows(html: str) -> list[str]:
    return re.findall(r'<li class="conv[^"]*" data-conversation-id="([^"]+)"', html)


def unread_rows(html: str) -> list[str]:
    return re.findall(r'<li class="conv unread[^"]*" data-conversation-id="([^"]+)"', html)


def test_newest_activity_first_with_unread_markers(dashboard: Dashboard) -> None:
    first, first_token = dashboard.conversation("first", "one")
    second, _ = dashboard.conversation("second", "two")
    dashboard.logged_in()
    inbox = dashboard.client.get(dashboard.url("inbox")).text
    assert rows(inbox) == [second, first]
    assert unread_rows(inbox) == [second, first]

    # Reading a thread clears its marker (for this operator only).
    dashboard.client.get(dashboard.url(f"inbox/{first}"))
    assert unread_rows(dashboard.client.get(dashboard.url("inbox")).text) == [second]

    # A new message from the contact brings the conversation back up, unread.
    dashboard.client.post(
        f"/v1/widget/conversations/{first}/messages",
        json={"body": "still there?"},
        headers=dashboard.harness.session_headers(first_token),
    )
    inbox = dashboard.client.get(dashboard.url("inbox")).text
    assert rows(inbox) == [first, second]
    assert unread_rows(inbox) == [first, second]
    assert "still there?" in inbox

    # The agent has read nothing yet.
    dashboard.logged_in("agent@example.com")
    assert unread_rows(dashboard.client.get(dashboard.url("inbox")).text) == [first, second]


def test_the_thread_shows_who_the_contact_is(dashboard: Dashboard) -> None:
    harness = dashboard.harness
    dashboard.harness.set_policy(identity_mode="report")
    verified = harness.identify(
        user_id="u-verified",
        user_hash=sign(harness.secret, "u-verified"),
        user_metadata={"plan": "<script>alert('x')</script>"},
    ).json()
    unverified = harness.identify(user_id="u-claimed", user_hash="0" * 64).json()
    anonymous = harness.identify().json()
    threads = {}
    for name, identified in (
        ("verified", verified),
        ("unverified", unverified),
        ("anonymous", anonymous),
    ):
        assert identified["identity"]["status"] == name
        response = dashboard.client.post(
            "/v1/widget/conversations",
            json={"body": f"I am {name}"},
            headers=harness.session_headers(identified["session_token"]),
        )
        threads[name] = response.json()["id"]
    harness.client.put(
        "/v1/users/u-verified",
        json={"attributes": {"tier": "gold"}},
        headers={"Authorization": f"Bearer {harness.api_key}"},
    )
    harness.client.post(
        "/v1/widget/events",
        json={"name": "viewed_pricing", "properties": {"page": "/pricing"}},
        headers=harness.session_headers(verified["session_token"]),
    )
    harness.client.post(
        "/v1/notifications",
        json={"user_id": "u-verified", "title": "Your invoice is ready"},
        headers={"Authorization": f"Bearer {harness.api_key}"},
    )
    dashboard.logged_in()

    page = dashboard.client.get(dashboard.url(f"inbox/{threads['verified']}")).text
    assert "Identity proven by your server" in page
    assert 'class="badge badge-verified"' in page
    assert 'Attributes <span class="tag tag-verified">verified</span>' in page
    assert 'Metadata <span class="tag tag-unverified">unverified</span>' in page
    assert "gold" in page
    # Metadata is a browser's claim: shown as text, never as markup.
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert "viewed_pricing" in page
    assert "Your invoice is ready" in page

    page = dashboard.client.get(dashboard.url(f"inbox/{threads['unverified']}")).text
    assert "<strong>Not proven.</strong>" in page
    assert 'u-claimed</code> <span class="claim">claimed</span>' in page

    page = dashboard.client.get(dashboard.url(f"inbox/{threads['anonymous']}")).text
    assert "Anonymous visitor" in page


def test_another_apps_conversation_is_not_found(dashboard: Dashboard) -> None:
    conversation_id, _ = dashboard.conversation("mine")
    dashboard.logged_in()
    assert dashboard.client.get(dashboard.url("inbox/cnv_unknown")).status_code == 404
    other = "/dashboard/apps/app_unknown/inbox/" + conversation_id
    assert dashboard.client.get(other).status_code == 404


def open_widget_stream(dashboard: Dashboard, token: str) -> Any:
    socket = dashboard.client.websocket_connect("/v1/widget/stream").__enter__()
    socket.send_json({"token": token, "since": None})
    assert socket.receive_json()["type"] == "ready"
    return socket


def test_a_reply_reaches_the_widget_live(dashboard: Dashboard) -> None:
    conversation_id, token = dashboard.conversation("live-user", "Is anyone there?")
    dashboard.logged_in()
    socket = open_widget_stream(dashboard, token)
    try:
        thread = dashboard.client.get(dashboard.url(f"inbox/{conversation_id}")).text
        reply = dashboard.client.post(
            dashboard.url(f"inbox/{conversation_id}/reply"),
            data={"body": "Yes, Olivia here.", "client_id": "c-1", "csrf_token": csrf_of(thread)},
            headers={"Accept": "application/json"},
        )
        assert reply.status_code == 201
        # Opening the thread read the contact's message (SPEC 11): the widget hears it.
        read = socket.receive_json()
        assert read["type"] == "conversation.read"
        assert read["data"] == {
            "conversation_id": conversation_id,
            "by": "operator",
            "up_to_seq": 1,
        }
        event = socket.receive_json()
        assert event["type"] == "message.created"
        assert event["data"]["body"] == "Yes, Olivia here."
        assert event["data"]["author"] == {"type": "operator", "name": "Olivia Owner"}
        # A retried send (same client_id) is the same message, not a second one.
        again = dashboard.client.post(
            dashboard.url(f"inbox/{conversation_id}/reply"),
            data={"body": "Yes, Olivia here.", "client_id": "c-1", "csrf_token": csrf_of(thread)},
            headers={"Accept": "application/json"},
        )
        assert again.status_code == 200
        assert again.json()["id"] == reply.json()["id"]
    finally:
        socket.__exit__(None, None, None)
    # Without JavaScript the form posts and lands back on the thread.
    plain = dashboard.client.post(
        dashboard.url(f"inbox/{conversation_id}/reply"),
        data={"body": "Plain form", "csrf_token": csrf_of(thread)},
        follow_redirects=False,
    )
    assert plain.status_code == 303
    assert plain.headers["location"] == dashboard.url(f"inbox/{conversation_id}")
    empty = dashboard.client.post(
        dashboard.url(f"inbox/{conversation_id}/reply"),
        data={"body": "   ", "csrf_token": csrf_of(thread)},
    )
    assert empty.status_code == 400


def test_new_messages_reach_the_inbox_live(dashboard: Dashboard) -> None:
    dashboard.logged_in()
    csrf = csrf_of(dashboard.client.get(dashboard.url("inbox")).text)
    with dashboard.client.websocket_connect(dashboard.url("live")) as live:
        live.send_json({"csrf": csrf})
        assert live.receive_json() == {"type": "ready"}
        conversation_id, _ = dashboard.conversation("newcomer", "Hi, I'm new")
        created = live.receive_json()
        assert created["type"] == "conversation.created"
        assert created["conversation_id"] == conversation_id
        message = live.receive_json()
        assert message["type"] == "message.created"
        assert message["conversation_id"] == conversation_id
        assert message["message"]["body"] == "Hi, I'm new"
        assert message["contact"]["status"] == "verified"
        assert message["contact"]["label"] == "newcomer"


def test_the_live_feed_wants_the_pages_csrf_token(dashboard: Dashboard) -> None:
    dashboard.logged_in()
    with dashboard.client.websocket_connect(dashboard.url("live")) as live:
        live.send_json({"csrf": "not-the-token"})
        with pytest.raises(WebSocketDisconnect) as closed:
            live.receive_json()
    assert closed.value.code == 4401
