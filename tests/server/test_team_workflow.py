"""A support team's workflow over HTTP (SPEC 10), on SQLite and PostgreSQL: the lifecycle
of a conversation (assign, note, resolve, reopen on the contact's reply, snooze and
its wake-up), what each change announces, and bad input that changes nothing."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest

from countersign import team
from countersign.operators import team as operators_team
from countersign.storage import operators, stream_log, webhook_endpoints
from countersign.storage.models import WebhookEvent
from countersign.team import WakeLoop
from countersign.vocabulary.clock import utcnow

from .conftest import Harness
from .test_messaging_api import assert_error, bearer

EVENTS = ["conversation.status_changed", "conversation.assigned", "note.created"]


class Team:
    """A harness with an agent, a verified user and their conversation."""

    def __init__(self, harness: Harness) -> None:
        self.harness = harness
        self.client = harness.client
        self.key = bearer(harness.api_key)
        db = harness.backend.database
        self.agent = db.run_sync(
            lambda c: operators.create_operator(
                c,
                email="Ada@Example.com",
                password_hash=operators.NO_PASSWORD,
                role="agent",
                name="Ada",
                now=utcnow(),
            )
        )
        db.run_sync(
            lambda c: webhook_endpoints.create_endpoint(
                c,
                harness.backend.box,
                harness.app_id,
                "http://127.0.0.1:9/hooks",
                EVENTS,
                allow_private_network=True,
            )
        )
        self.session = bearer(harness.verified("user-1")["session_token"])
        started = self.client.post(
            "/v1/widget/conversations", json={"body": "hello?"}, headers=self.session
        )
        assert started.status_code == 201, started.text
        self.conversation_id: str = started.json()["id"]
        self.contact_id: str = started.json()["contact_id"]

    @property
    def path(self) -> str:
        return f"/v1/conversations/{self.conversation_id}"

    def get(self) -> dict[str, Any]:
        response = self.client.get(self.path, headers=self.key)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def patch(self, **change: Any) -> Any:
        return self.client.patch(self.path, json=change, headers=self.key)

    def listed(self, **params: str) -> list[str]:
        response = self.client.get("/v1/conversations", params=params, headers=self.key)
        assert response.status_code == 200, response.text
        return [row["id"] for row in response.json()["data"]]

    def contact_writes(self, body: str) -> None:
        sent = self.client.post(
            f"/v1/widget/conversations/{self.conversation_id}/messages",
            json={"body": body},
            headers=self.session,
        )
        assert sent.status_code == 201, sent.text

    def stream_types(self) -> list[str]:
        items = self.harness.backend.database.run_sync(
            lambda c: stream_log.stream_after(c, self.contact_id, 0)
        )
        return [item.type for item in items]

    def webhook_events(self) -> list[tuple[str, dict[str, Any]]]:
        from sqlalchemy import select

        rows = self.harness.backend.database.run_sync(
            lambda c: c.execute(
                select(WebhookEvent.type, WebhookEvent.data).order_by(WebhookEvent.created_at)
            ).all()
        )
        return [(row.type, row.data) for row in rows]


@pytest.fixture
def crew(make_harness: Any) -> Team:
    return Team(make_harness(snooze_poll_seconds=0.1))


def test_the_lifecycle_of_a_conversation(crew: Team) -> None:
    assert crew.get()["status"] == "open"
    assert crew.get()["assignee"] is None
    assert crew.listed(status="open", assignee="none") == [crew.conversation_id]

    taken = crew.patch(assignee_email="ada@example.com")
    assert taken.status_code == 200, taken.text
    assert taken.json()["assignee"] == {
        "id": crew.agent.id,
        "name": "Ada",
        "email": "ada@example.com",
    }
    assert crew.listed(assignee="none") == []
    assert crew.listed(assignee="ADA@example.com") == [crew.conversation_id]

    listed_before = crew.client.get("/v1/widget/conversations", headers=crew.session).json()
    note = crew.client.post(
        f"{crew.path}/notes",
        json={"body": "VIP, be nice", "author": {"name": "Ada"}},
        headers=crew.key,
    )
    assert note.status_code == 201, note.text
    assert note.json()["author"] == {"type": "note", "name": "Ada"}
    team_view = crew.client.get(f"{crew.path}/messages", headers=crew.key).json()["data"]
    assert [m["author"]["type"] for m in team_view] == ["contact", "note"]
    widget_view = crew.client.get(
        f"/v1/widget/conversations/{crew.conversation_id}/messages", headers=crew.session
    ).json()["data"]
    assert [m["author"]["type"] for m in widget_view] == ["contact"]
    # Nor does the contact's list of conversations move for a note.
    listed_after = crew.client.get("/v1/widget/conversations", headers=crew.session).json()
    assert listed_after["data"][0]["updated_at"] == listed_before["data"][0]["updated_at"]
    assert listed_after["data"][0]["message_count"] == listed_before["data"][0]["message_count"]

    resolved = crew.patch(status="resolved")
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "resolved"
    assert crew.listed(status="resolved") == [crew.conversation_id]

    crew.contact_writes("one more thing")
    reopened = crew.get()
    assert reopened["status"] == "open"
    assert reopened["assignee"]["id"] == crew.agent.id  # back under Mine
    assert crew.listed(status="open", assignee="ada@example.com") == [crew.conversation_id]

    until = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    snoozed = crew.patch(status="snoozed", snoozed_until=until)
    assert snoozed.status_code == 200, snoozed.text
    assert snoozed.json()["status"] == "snoozed"
    assert snoozed.json()["snoozed_until"] is not None
    deadline = time.monotonic() + 10
    while crew.get()["status"] == "snoozed" and time.monotonic() < deadline:
        time.sleep(0.1)
    woken = crew.get()
    assert woken["status"] == "open"
    assert woken["snoozed_until"] is None

    # Every change was a conversation.updated to the contact's stream, and no note.
    updates = [t for t in crew.stream_types() if t == "conversation.updated"]
    assert len(updates) == 5  # assigned, resolved, reopened, snoozed, woken
    assert "note.created" not in crew.stream_types()
    kinds = [kind for kind, _ in crew.webhook_events()]
    assert kinds.count("conversation.assigned") == 1
    assert kinds.count("conversation.status_changed") == 4
    assert kinds.count("note.created") == 1


def test_the_contact_is_told_the_name_never_the_email(crew: Team) -> None:
    crew.patch(assignee_email="ada@example.com")
    items = crew.harness.backend.database.run_sync(
        lambda c: stream_log.stream_after(c, crew.contact_id, 0)
    )
    update = next(item for item in items if item.type == "conversation.updated")
    assert update.data["assignee"] == {"name": "Ada"}
    assert "ada@example.com" not in str(update.data).lower()


def test_deactivating_an_operator_unassigns_their_conversations(crew: Team) -> None:
    crew.patch(assignee_email="ada@example.com")

    def deactivate(connection: Any) -> None:
        done = operators_team.deactivate_operator(
            connection, actor=None, operator_id=crew.agent.id, now=utcnow()
        )
        assert done.unassigned == (crew.conversation_id,)
        team.announce_unassigned(connection, done.unassigned, crew.agent.id, utcnow())

    crew.harness.backend.database.run_sync(deactivate)
    assert crew.get()["assignee"] is None
    assigned = [data for kind, data in crew.webhook_events() if kind == "conversation.assigned"]
    assert assigned[-1]["previous_assignee"]["id"] == crew.agent.id
    assert assigned[-1]["conversation"]["assignee"] is None
    # A deactivated operator cannot be assigned again.
    assert_error(crew.patch(assignee_email="ada@example.com"), 422, "unknown_assignee")


class ObservedWakeLoop(WakeLoop):
    """The server's wake loop, telling the test when each node's first round is done."""

    first_rounds: ClassVar[list[threading.Event]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.done = threading.Event()
        ObservedWakeLoop.first_rounds.append(self.done)

    async def run_once(self) -> int:
        woken = await super().run_once()
        self.done.set()
        return woken


def test_a_snooze_due_while_the_server_was_down_wakes_at_start(
    make_harness: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("countersign.server.app.WakeLoop", ObservedWakeLoop)
    ObservedWakeLoop.first_rounds.clear()
    crew = Team(make_harness(snooze_poll_seconds=300))
    assert ObservedWakeLoop.first_rounds[0].wait(10)  # its start round is behind it
    until = (datetime.now(UTC) + timedelta(seconds=0.3)).isoformat()
    assert crew.patch(snoozed_until=until).json()["status"] == "snoozed"
    time.sleep(0.5)
    assert crew.get()["status"] == "snoozed"  # due, but this node sleeps for 300 s
    make_harness(snooze_poll_seconds=300)  # a node starting: its first round wakes it
    assert ObservedWakeLoop.first_rounds[1].wait(10)
    assert crew.get()["status"] == "open"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"status": "closed"}, "invalid_status"),
        ({"status": 3}, "invalid_request"),
        ({"status": "snoozed"}, "invalid_snooze"),
        ({"snoozed_until": "2001-01-01T00:00:00+00:00"}, "invalid_snooze"),
        ({"snoozed_until": "tomorrow-ish"}, "invalid_snooze"),
        ({"snoozed_until": "2030-01-01T00:00:00"}, "invalid_snooze"),  # no offset
        ({"snoozed_until": "9999-12-31T23:59:59-14:00"}, "invalid_snooze"),
        ({"status": "resolved", "snoozed_until": "2099-01-01T00:00:00Z"}, "invalid_snooze"),
        ({"assignee_email": "nobody@example.com"}, "unknown_assignee"),
        ({"assignee_email": "a\x00b@example.com"}, "invalid_request"),
        ({"assignee_email": "x" * 300}, "invalid_request"),
        ({"colour": "red"}, "invalid_request"),
    ],
)
def test_bad_changes_are_4xx_and_change_nothing(
    crew: Team, change: dict[str, Any], code: str
) -> None:
    before = crew.get()
    events = len(crew.webhook_events())
    assert_error(crew.patch(**change), 422, code)
    assert crew.get() == before
    assert len(crew.webhook_events()) == events


def test_what_names_nothing_is_404(crew: Team, make_harness: Any) -> None:
    other = make_harness()  # another app on the same database
    other_key = bearer(other.api_key)
    for method, suffix, body in (
        ("GET", "", None),
        ("PATCH", "", {"status": "resolved"}),
        ("POST", "/notes", {"body": "secret", "author": {"name": "Eve"}}),
    ):
        response = crew.client.request(method, crew.path + suffix, json=body, headers=other_key)
        assert_error(response, 404, "not_found")
    assert crew.get()["status"] == "open"
    for bad in ("cnv_nope", "x" * 300):
        assert_error(
            crew.client.get(f"/v1/conversations/{bad}", headers=crew.key), 404, "not_found"
        )


def test_list_filters_and_cursors(crew: Team) -> None:
    more = [crew.conversation_id]
    for _ in range(4):
        started = crew.client.post(
            "/v1/widget/conversations", json={"body": "again"}, headers=crew.session
        )
        more.append(started.json()["id"])
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = crew.client.get("/v1/conversations", params=params, headers=crew.key).json()
        seen += [row["id"] for row in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(more)
    assert len(seen) == len(set(seen))
    assert sorted(crew.listed(contact_user_id="user-1")) == sorted(more)
    assert crew.listed(contact_user_id="someone-else") == []
    row = crew.client.get("/v1/conversations", headers=crew.key).json()["data"][0]
    assert set(row) >= {"id", "status", "snoozed_until", "assignee", "contact", "last_message_at"}
    assert row["contact"] == {
        "id": crew.contact_id,
        "user_id": "user-1",
        "email": None,
        "name": None,
        "verified": True,
    }
    for params, status in (
        ({"status": "closed"}, 422),
        ({"assignee": "nobody@example.com"}, 422),
        ({"cursor": "not-a-cursor"}, 422),
        ({"status": "x" * 100}, 422),
        ({"limit": "0"}, 422),
    ):
        response = crew.client.get("/v1/conversations", params=params, headers=crew.key)
        assert response.status_code == status, (params, response.text)
        assert set(response.json()) == {"error"}
    assert crew.client.get("/v1/conversations").status_code == 401


def test_bad_notes_are_4xx(crew: Team) -> None:
    for body in (
        {"body": "", "author": {"name": "Ada"}},
        {"body": "x" * 100_000, "author": {"name": "Ada"}},
        {"body": "a\x00b", "author": {"name": "Ada"}},
        {"body": "hi"},
        {"body": "hi", "author": {"name": "Ada", "type": "operator"}},
    ):
        response = crew.client.post(f"{crew.path}/notes", json=body, headers=crew.key)
        assert response.status_code in (413, 422), response.text
    assert [kind for kind, _ in crew.webhook_events()] == []
