"""The inbox's views and workflow forms over HTTP, on SQLite and PostgreSQL: views with
counts, the search, assign / take / snooze / resolve / reopen, notes shown as notes,
bad forms, and the live feed's word of each change (with the counts)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from countersign.storage import apps

from .conftest import AGENT, Dashboard, csrf_of

ROW = re.compile(r'<li class="conv[^"]*" data-conversation-id="(cnv_[^"]+)"')


def rows(dashboard: Dashboard, view: str, query: str = "") -> list[str]:
    response = dashboard.client.get(dashboard.url("inbox"), params={"view": view, "q": query})
    assert response.status_code == 200, response.text
    return ROW.findall(response.text)


def count(dashboard: Dashboard, view: str) -> int:
    html = dashboard.client.get(dashboard.url("inbox")).text
    found = re.search(rf'data-count="{view}">(\d+)<', html)
    assert found, html
    return int(found.group(1))


def act(dashboard: Dashboard, conversation: str, action: str, **fields: str) -> Any:
    thread = dashboard.client.get(dashboard.url(f"inbox/{conversation}"))
    return dashboard.client.post(
        dashboard.url(f"inbox/{conversation}/{action}"),
        data={"csrf_token": csrf_of(thread.text), **fields},
        headers={"Accept": "application/json"},
    )


def test_views_counts_and_the_whole_workflow(dashboard: Dashboard) -> None:
    dashboard.logged_in(AGENT)
    conversation, token = dashboard.conversation("user-1", "Where is my order?")
    assert rows(dashboard, "unassigned") == [conversation]
    assert rows(dashboard, "mine") == []
    assert count(dashboard, "unassigned") == 1

    taken = act(dashboard, conversation, "assign", assignee_id="me")
    assert taken.status_code == 200, taken.text
    assert taken.json()["assignee"]["name"] == "Aaron Agent"
    assert rows(dashboard, "mine") == [conversation]
    assert rows(dashboard, "unassigned") == []
    assert count(dashboard, "mine") == 1

    note = act(dashboard, conversation, "notes", body="Check the warehouse first")
    assert note.status_code == 201, note.text
    thread = dashboard.client.get(dashboard.url(f"inbox/{conversation}")).text
    assert 'class="msg from-note"' in thread
    assert "Private note" in thread
    assert "Check the warehouse first" in thread

    snoozed = act(dashboard, conversation, "snooze", until="tomorrow", time_zone="Europe/Paris")
    assert snoozed.status_code == 200, snoozed.text
    until = datetime.fromisoformat(snoozed.json()["snoozed_until"])
    assert until > datetime.now(UTC)
    assert until.astimezone(ZoneInfo("Europe/Paris")).hour == 9
    assert rows(dashboard, "snoozed") == [conversation]
    assert rows(dashboard, "mine") == []

    assert act(dashboard, conversation, "status", status="resolved").json()["status"] == "resolved"
    assert rows(dashboard, "resolved") == [conversation]
    assert act(dashboard, conversation, "status", status="open").json()["status"] == "open"
    # The contact's reply after a resolve brings it back under Mine.
    act(dashboard, conversation, "status", status="resolved")
    sent = dashboard.client.post(
        f"/v1/widget/conversations/{conversation}/messages",
        json={"body": "It still has not come"},
        headers=dashboard.harness.session_headers(token),
    )
    assert sent.status_code == 201, sent.text
    assert rows(dashboard, "mine") == [conversation]

    # The assign form names any active operator, or nobody.
    owner = act(dashboard, conversation, "assign", assignee_id=dashboard.owner.id)
    assert owner.json()["assignee"]["id"] == dashboard.owner.id
    nobody = act(dashboard, conversation, "assign", assignee_id="")
    assert nobody.json()["assignee"] is None


def test_the_search_box_finds_conversations_by_contact(dashboard: Dashboard) -> None:
    dashboard.logged_in()
    ada, _ = dashboard.conversation("ada-lovelace")
    grace, _ = dashboard.conversation("grace-hopper")
    assert sorted(rows(dashboard, "open")) == sorted([ada, grace])
    assert rows(dashboard, "open", "GRACE") == [grace]
    assert rows(dashboard, "open", "nobody-like-this") == []
    too_long = dashboard.client.get(dashboard.url("inbox"), params={"q": "x" * 10_000})
    assert too_long.status_code == 400
    bad_view = dashboard.client.get(dashboard.url("inbox"), params={"view": "everything"})
    assert bad_view.status_code == 400


@pytest.mark.parametrize(
    ("action", "fields", "status"),
    [
        ("status", {"status": "snoozed"}, 400),
        ("status", {"status": "closed"}, 400),
        ("snooze", {"until": "forever"}, 400),
        ("snooze", {"until": "date", "date": "2001-01-01"}, 422),
        ("snooze", {"until": "date", "date": "01/02/2030"}, 422),
        ("assign", {"assignee_id": "op_nobody"}, 422),
        ("assign", {"assignee_id": "x" * 100}, 400),
        ("notes", {"body": ""}, 400),
    ],
)
def test_bad_forms_change_nothing(
    dashboard: Dashboard, action: str, fields: dict[str, str], status: int
) -> None:
    dashboard.logged_in()
    conversation, _ = dashboard.conversation("user-1")
    before = dashboard.client.get(
        f"/v1/conversations/{conversation}",
        headers={"Authorization": f"Bearer {dashboard.harness.api_key}"},
    ).json()
    response = act(dashboard, conversation, action, **fields)
    assert response.status_code == status, response.text
    after = dashboard.client.get(
        f"/v1/conversations/{conversation}",
        headers={"Authorization": f"Bearer {dashboard.harness.api_key}"},
    ).json()
    assert after == before


def test_no_form_without_its_csrf_token_or_for_another_app(dashboard: Dashboard) -> None:
    dashboard.logged_in()
    conversation, _ = dashboard.conversation("user-1")
    refused = dashboard.client.post(
        dashboard.url(f"inbox/{conversation}/status"), data={"status": "resolved"}
    )
    assert refused.status_code == 403
    harness = dashboard.harness
    other_app = harness.backend.database.run_sync(
        lambda c: apps.create_app(c, harness.backend.box, "Other")
    ).app.id
    thread = dashboard.client.get(dashboard.url(f"inbox/{conversation}"))
    elsewhere = dashboard.client.post(
        f"/dashboard/apps/{other_app}/inbox/{conversation}/status",
        data={"csrf_token": csrf_of(thread.text), "status": "resolved"},
    )
    assert elsewhere.status_code == 404
    assert rows(dashboard, "open") == [conversation]


def test_the_live_feed_carries_each_change_with_the_counts(dashboard: Dashboard) -> None:
    dashboard.logged_in()
    conversation, _ = dashboard.conversation("user-1")
    page = dashboard.client.get(dashboard.url("inbox"))
    with dashboard.client.websocket_connect(f"/dashboard/apps/{dashboard.app_id}/live") as live:
        live.send_json({"csrf": csrf_of(page.text)})
        assert live.receive_json()["type"] == "ready"
        act(dashboard, conversation, "assign", assignee_id=dashboard.agent.id)
        updated = live.receive_json()
        if updated["type"] == "conversation.read":  # the thread was opened (SPEC 11)
            assert updated["by"] == "operator"
            updated = live.receive_json()
        assert updated["type"] == "conversation.updated"
        assert updated["conversation"]["assignee"]["name"] == "Aaron Agent"
        assert updated["counts"]["unassigned"] == 0
        act(dashboard, conversation, "notes", body="only us")
        noted = live.receive_json()
        assert noted["type"] == "note.created"
        assert noted["message"]["body"] == "only us"
        assert noted["message"]["author"]["type"] == "note"


def test_deactivating_on_the_team_page_unassigns_live(dashboard: Dashboard) -> None:
    dashboard.logged_in()
    conversation, _ = dashboard.conversation("user-1")
    act(dashboard, conversation, "assign", assignee_id=dashboard.agent.id)
    page = dashboard.client.get(dashboard.url("inbox"))
    with dashboard.client.websocket_connect(f"/dashboard/apps/{dashboard.app_id}/live") as live:
        live.send_json({"csrf": csrf_of(page.text)})
        assert live.receive_json()["type"] == "ready"
        team_page = dashboard.client.get("/dashboard/team")
        done = dashboard.client.post(
            f"/dashboard/team/{dashboard.agent.id}/deactivate",
            data={"csrf_token": csrf_of(team_page.text)},
            follow_redirects=False,
        )
        assert done.status_code == 303, done.text
        updated = live.receive_json()
        assert updated["type"] == "conversation.updated"
        assert updated["conversation"]["id"] == conversation
        assert updated["conversation"]["assignee"] is None
        assert updated["counts"]["unassigned"] == 1
    assert rows(dashboard, "unassigned") == [conversation]


MARK = re.compile(r'data-live-mark="(\d+)"')


def _first_words(dashboard: Dashboard, page: Any, mark: object) -> list[str]:
    """The live socket's opening words for a page, sending ``mark`` in the hello."""
    with dashboard.client.websocket_connect(f"/dashboard/apps/{dashboard.app_id}/live") as live:
        live.send_json({"csrf": csrf_of(page.text), "mark": mark})
        words = [live.receive_json()["type"]]
        while words[-1] != "ready":
            words.append(live.receive_json()["type"])
        return words


def test_a_change_between_the_page_and_its_socket_reloads_the_page(
    dashboard: Dashboard,
) -> None:
    # The page is rendered, then its socket starts: a change in between reached no
    # watcher, so the socket's first word is "resync" (the page reloads) instead.
    dashboard.logged_in()
    conversation, _ = dashboard.conversation("user-1")
    page = dashboard.client.get(dashboard.url("inbox"))
    found = MARK.search(page.text)
    assert found, page.text
    mark = int(found.group(1))
    assert mark > 0
    assert _first_words(dashboard, page, mark) == ["ready"]

    resolved = act(dashboard, conversation, "status", status="resolved")
    assert resolved.status_code == 200, resolved.text
    assert _first_words(dashboard, page, mark) == ["resync", "ready"]
    fresh = dashboard.client.get(dashboard.url("inbox"))
    fresh_mark = MARK.search(fresh.text)
    assert fresh_mark
    assert int(fresh_mark.group(1)) > mark
    assert _first_words(dashboard, fresh, int(fresh_mark.group(1))) == ["ready"]
    # A page without a mark (or a nonsense one) is not reloaded for it.
    for nonsense in (None, "7", True, -1, 2**70):
        assert _first_words(dashboard, page, nonsense) == ["ready"]
