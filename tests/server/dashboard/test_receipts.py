"""Typing and read receipts (SPEC 11), on SQLite and PostgreSQL: the widget's routes,
their bad input, the one-a-second limit, and what each side's stream carries."""

from __future__ import annotations

from typing import Any

import pytest

from countersign.storage import reads
from countersign.vocabulary.stream import Signal
from tests.server.test_access_rules import close_stream, open_stream, receive_until
from tests.server.test_messaging_api import assert_error

from .conftest import Dashboard, csrf_of


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def read(dashboard: Dashboard, token: str, conversation: str, body: Any) -> Any:
    return dashboard.client.post(
        f"/v1/widget/conversations/{conversation}/read", json=body, headers=bearer(token)
    )


def typing(dashboard: Dashboard, token: str, conversation: str) -> Any:
    return dashboard.client.post(
        f"/v1/widget/conversations/{conversation}/typing", headers=bearer(token)
    )


def reply(dashboard: Dashboard, conversation: str, body: str) -> None:
    response = dashboard.post(f"inbox/{conversation}/reply", {"body": body})
    assert response.status_code in (200, 201, 303), response.text


def stored(dashboard: Dashboard, conversation: str) -> int | None:
    return dashboard.harness.backend.database.run_sync(
        lambda c: reads.contact_read_seq(c, conversation)
    )


def listed(dashboard: Dashboard, token: str, conversation: str) -> dict[str, Any]:
    page = dashboard.client.get("/v1/widget/conversations", headers=bearer(token)).json()
    (found,) = [c for c in page["data"] if c["id"] == conversation]
    return found  # type: ignore[no-any-return]


def test_the_contact_read_position_is_stored_monotonic_and_shared(dashboard: Dashboard) -> None:
    dashboard.logged_in()
    conversation, token = dashboard.conversation("grace", "Hello")  # seq 1
    reply(dashboard, conversation, "Hi Grace")  # seq 2
    reply(dashboard, conversation, "Anything else?")  # seq 3
    assert listed(dashboard, token, conversation)["unread_count"] == 2
    answer = read(dashboard, token, conversation, {"up_to_seq": 2})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"conversation_id": conversation, "up_to_seq": 2}
    # Never moves back: an older position is answered with the stored one.
    assert read(dashboard, token, conversation, {"up_to_seq": 1}).json()["up_to_seq"] == 2
    assert stored(dashboard, conversation) == 2
    # A second device of the same user sees the stored position, and the right badge.
    second = dashboard.harness.verified("grace")["session_token"]
    on_second = listed(dashboard, second, conversation)
    assert on_second["read_up_to_seq"] == 2
    assert on_second["unread_count"] == 1
    assert read(dashboard, second, conversation, {"up_to_seq": 3}).status_code == 200
    assert listed(dashboard, token, conversation)["unread_count"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {"up_to_seq": 99},  # beyond the last message
        {"up_to_seq": -1},
        {"up_to_seq": "1"},
        {"up_to_seq": 1.5},
        {"up_to_seq": -0.5},
        {"up_to_seq": True},
        {"up_to_seq": None},
        {"up_to_seq": 2**31},
        {},
        {"up_to_seq": 1, "extra": 1},
        [1],
    ],
)
def test_bad_read_positions_are_refused_and_nothing_stored(dashboard: Dashboard, body: Any) -> None:
    conversation, token = dashboard.conversation("grace", "Hello")
    code = "seq_out_of_range" if body == {"up_to_seq": 99} else "invalid_request"
    assert_error(read(dashboard, token, conversation, body), 422, code)
    assert stored(dashboard, conversation) == 0


def test_another_contacts_or_apps_conversation_is_not_found(dashboard: Dashboard) -> None:
    conversation, _ = dashboard.conversation("grace", "Hello")
    other = dashboard.harness.verified("mallory")["session_token"]
    assert_error(read(dashboard, other, conversation, {"up_to_seq": 1}), 404, "not_found")
    assert_error(typing(dashboard, other, conversation), 404, "not_found")
    assert_error(read(dashboard, other, "cnv_nope", {"up_to_seq": 0}), 404, "not_found")
    assert stored(dashboard, conversation) == 0
    anonymous = dashboard.client.post(
        f"/v1/widget/conversations/{conversation}/read", json={"up_to_seq": 1}
    )
    assert anonymous.status_code == 401


def test_a_note_is_no_read_position_for_the_contact(dashboard: Dashboard) -> None:
    dashboard.logged_in()
    conversation, token = dashboard.conversation("grace", "Hello")  # seq 1
    noted = dashboard.post(f"inbox/{conversation}/notes", {"body": "VIP"})  # seq 2
    assert noted.status_code in (200, 201, 303), noted.text
    # The note's seq would tell the contact that a note exists: it is "beyond".
    assert_error(read(dashboard, token, conversation, {"up_to_seq": 2}), 422, "seq_out_of_range")
    # A whole number written as 1.0 is the number 1 (JSON Schema says so too).
    assert read(dashboard, token, conversation, {"up_to_seq": 1.0}).json()["up_to_seq"] == 1


def test_typing_reaches_the_dashboards_at_most_once_a_second(dashboard: Dashboard) -> None:
    state = dashboard.client.app.state.countersign
    heard: list[Signal] = []
    stop = state.hub.signals.listen("app:" + dashboard.app_id, heard.append)
    try:
        conversation, token = dashboard.conversation("grace", "Hello")
        first = typing(dashboard, token, conversation)
        assert first.status_code == 202, first.text
        assert first.json() == {"sent": True}
        # The same sender again within the second: a quiet no-op.
        assert typing(dashboard, token, conversation).json() == {"sent": False}
        assert len(heard) == 1
        (signal,) = heard
        assert signal.wire() == {
            "type": "typing",
            "data": {"conversation_id": conversation, "author": {"type": "contact", "name": None}},
        }
        # Another sender is limited on its own.
        other, other_token = dashboard.conversation("alan", "Hi")
        assert typing(dashboard, other_token, other).json() == {"sent": True}
        assert len(heard) == 2
    finally:
        stop()


def test_the_dashboard_live_feed_shows_typing_and_reads(dashboard: Dashboard) -> None:
    dashboard.logged_in()
    conversation, token = dashboard.conversation("grace", "Hello")
    reply(dashboard, conversation, "Hi Grace")
    page = dashboard.client.get(dashboard.url("inbox"))
    with dashboard.client.websocket_connect(dashboard.url("live")) as live:
        live.send_json({"csrf": csrf_of(page.text)})
        assert live.receive_json()["type"] == "ready"
        assert typing(dashboard, token, conversation).status_code == 202
        shown = live.receive_json()
        assert shown == {
            "type": "typing",
            "data": {"conversation_id": conversation, "author": {"type": "contact", "name": None}},
        }
        assert "seq" not in shown
        assert read(dashboard, token, conversation, {"up_to_seq": 2}).status_code == 200
        seen = live.receive_json()
        assert seen["type"] == "conversation.read"
        assert (seen["conversation_id"], seen["by"], seen["up_to_seq"]) == (
            conversation,
            "contact",
            2,
        )
    thread = dashboard.client.get(dashboard.url(f"inbox/{conversation}"))
    assert 'data-contact-read="2"' in thread.text


def test_the_widget_hears_the_operator_typing_and_reading(dashboard: Dashboard) -> None:
    dashboard.logged_in()
    conversation, token = dashboard.conversation("grace", "Hello")
    socket, _ = open_stream(dashboard.harness, token)
    try:
        typed = dashboard.post(f"inbox/{conversation}/typing")
        assert typed.status_code == 202, typed.text
        assert typed.json() == {"sent": True}
        assert dashboard.post(f"inbox/{conversation}/typing").json() == {"sent": False}
        signal = socket.receive_json()
        # The operator's display name, never their email; and no seq.
        assert signal == {
            "type": "typing",
            "data": {
                "conversation_id": conversation,
                "author": {"type": "operator", "name": "Olivia Owner"},
            },
        }
        # Opening the thread is reading it: *Seen* for the widget, once.
        assert dashboard.client.get(dashboard.url(f"inbox/{conversation}")).status_code == 200
        events = receive_until(socket, lambda event: event["type"] == "conversation.read")
        assert events[-1]["data"] == {
            "conversation_id": conversation,
            "by": "operator",
            "up_to_seq": 1,
        }
        assert isinstance(events[-1]["seq"], int)
        assert listed(dashboard, token, conversation)["seen_up_to_seq"] == 1
    finally:
        close_stream(socket)


def test_reading_again_announces_nothing(dashboard: Dashboard) -> None:
    dashboard.logged_in()
    conversation, token = dashboard.conversation("grace", "Hello")
    reply(dashboard, conversation, "Hi")
    assert read(dashboard, token, conversation, {"up_to_seq": 2}).status_code == 200
    socket, head = open_stream(dashboard.harness, token)
    close_stream(socket)
    assert read(dashboard, token, conversation, {"up_to_seq": 2}).status_code == 200
    assert dashboard.client.get(dashboard.url(f"inbox/{conversation}")).status_code == 200
    socket, again = open_stream(dashboard.harness, token)
    close_stream(socket)
    assert again == head
