"""The Contacts page over HTTP, on SQLite and PostgreSQL: badges, search, pages, one
contact's history, and what a bad search or a foreign contact gets."""

from __future__ import annotations

import re
from typing import Any

import pytest

from countersign.storage import apps, contact_search

from .conftest import AGENT, Dashboard

ROW = re.compile(r'<tr data-contact-id="(con_[^"]+)">')
NEXT = re.compile(r'rel="next" href="([^"]+)"')


def listed(dashboard: Dashboard, query: str = "", **params: str) -> list[str]:
    response = dashboard.client.get(dashboard.url("contacts"), params={"q": query, **params})
    assert response.status_code == 200, response.text
    return ROW.findall(response.text)


def contact_id_of(dashboard: Dashboard, user_id: str) -> str:
    found = dashboard.harness.backend.database.run_sync(
        lambda c: contact_search.search_contacts(c, dashboard.app_id, user_id, None)
    )
    assert len(found.data) == 1, found
    return str(found.data[0]["id"])


def people(dashboard: Dashboard) -> dict[str, Any]:
    """A verified user with a name and metadata, an unverified claim, an anonymous one."""
    harness = dashboard.harness
    verified = harness.verified(
        "user-42", email="zoe@example.com", user_metadata={"plan": "Gold_Plus"}
    )
    named = harness.client.put(
        "/v1/users/user-42",
        json={"name": "Zoë Quist"},
        headers={"Authorization": f"Bearer {harness.api_key}"},
    )
    assert named.status_code in (200, 201), named.text
    harness.set_policy(identity_mode="report")
    unverified = harness.identify(user_id="claimed-7", user_hash="0" * 64)
    assert unverified.json()["identity"]["status"] == "unverified"
    anonymous = harness.identify()
    assert anonymous.json()["identity"]["status"] == "anonymous"
    # Anonymous contacts are made when first needed: a message makes one.
    started = dashboard.client.post(
        "/v1/widget/conversations",
        json={"body": "anyone there?"},
        headers=harness.session_headers(anonymous.json()["session_token"]),
    )
    assert started.status_code == 201, started.text
    return {"verified": verified, "unverified": unverified.json()}


def test_the_list_shows_badges_and_the_search_finds(dashboard: Dashboard) -> None:
    people(dashboard)
    dashboard.logged_in(AGENT)  # any operator may look
    page = dashboard.client.get(dashboard.url("contacts")).text
    for badge in ("badge-verified", "badge-unverified", "badge-anonymous"):
        assert badge in page
    assert len(listed(dashboard)) == 3
    verified_id = contact_id_of(dashboard, "user-42")
    for query in ("USER-42", "zoe@EXAMPLE", "quist", "gold_plus", "Zoë"):
        assert listed(dashboard, query) == [verified_id], query
    assert listed(dashboard, "claimed") == [contact_id_of(dashboard, "claimed-7")]
    # LIKE's own wildcards are taken literally.
    assert listed(dashboard, "%") == []
    assert listed(dashboard, "_") == [verified_id]  # only "Gold_Plus" has one
    assert listed(dashboard, "nobody-like-this") == []
    assert (
        "No contact matches"
        in dashboard.client.get(dashboard.url("contacts"), params={"q": "nobody-like-this"}).text
    )


def test_pages_follow_one_another(dashboard: Dashboard) -> None:
    for number in range(55):
        dashboard.harness.verified(f"page-user-{number:02}")
    dashboard.logged_in()
    response = dashboard.client.get(dashboard.url("contacts"))
    first = ROW.findall(response.text)
    assert len(first) == 50
    found = NEXT.search(response.text)
    assert found is not None
    second = ROW.findall(dashboard.client.get(found.group(1).replace("&amp;", "&")).text)
    assert len(second) == 5
    assert not set(first) & set(second)
    searched = dashboard.client.get(dashboard.url("contacts"), params={"q": "page-user-0"})
    assert len(ROW.findall(searched.text)) == 10


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"q": "x" * 10_000}, 400),
        ({"q": "x" * 201}, 400),
        ({"q": "a\x00b"}, 400),
        ({"q": "a\u2028b"}, 400),
        ({"cursor": "not-a-cursor"}, 422),
        ({"cursor": "x" * 10_000}, 400),
    ],
)
def test_bad_searches_get_a_clear_answer(
    dashboard: Dashboard, params: dict[str, str], status: int
) -> None:
    dashboard.logged_in()
    response = dashboard.client.get(dashboard.url("contacts"), params=params)
    assert response.status_code == status, response.text
    assert "<!doctype html>" in response.text.lower() or response.headers[
        "content-type"
    ].startswith("application/json")


def test_a_lone_surrogate_in_the_search_finds_nothing(dashboard: Dashboard) -> None:
    dashboard.harness.verified("someone")
    dashboard.logged_in()
    # The query string's invalid UTF-8 arrives as replacement characters: no match.
    response = dashboard.client.get(dashboard.url("contacts") + "?q=%ED%A0%80")
    assert response.status_code == 200
    assert ROW.findall(response.text) == []


def test_a_contact_page_has_their_whole_history(dashboard: Dashboard) -> None:
    harness = dashboard.harness
    session = harness.verified("user-9", user_metadata={"browser_says": "hello"})["session_token"]
    api = {"Authorization": f"Bearer {harness.api_key}"}
    put = harness.client.put(
        "/v1/users/user-9", json={"name": "Ada", "attributes": {"tier": "enterprise"}}, headers=api
    )
    assert put.status_code in (200, 201), put.text
    sent = harness.client.post(
        "/v1/notifications", json={"user_id": "user-9", "title": "Invoice ready"}, headers=api
    )
    assert sent.status_code == 201, sent.text
    tracked = harness.client.post(
        "/v1/widget/events",
        json={"name": "opened-pricing", "properties": {"plan": "pro"}},
        headers=harness.session_headers(session),
    )
    assert tracked.status_code == 201, tracked.text
    started = harness.client.post(
        "/v1/widget/conversations",
        json={"body": "First question"},
        headers=harness.session_headers(session),
    )
    assert started.status_code == 201, started.text
    conversation_id = started.json()["id"]
    dashboard.logged_in()
    contact_id = contact_id_of(dashboard, "user-9")
    page = dashboard.client.get(dashboard.url(f"contacts/{contact_id}"))
    assert page.status_code == 200, page.text
    for text in (
        "Ada",
        "badge-verified",
        "tier",
        "enterprise",
        "browser_says",
        "Invoice ready",
        "opened-pricing",
        f'data-conversation-id="{conversation_id}"',
    ):
        assert text in page.text, text
    assert f"/inbox/{conversation_id}" in page.text


def test_another_apps_contact_or_a_made_up_one_is_not_found(dashboard: Dashboard) -> None:
    dashboard.harness.verified("mine")
    contact_id = contact_id_of(dashboard, "mine")
    box = dashboard.harness.backend.box
    other = dashboard.harness.backend.database.run_sync(lambda c: apps.create_app(c, box, "Other"))
    dashboard.logged_in()
    foreign = dashboard.client.get(f"/dashboard/apps/{other.app.id}/contacts/{contact_id}")
    assert foreign.status_code == 404
    for made_up in ("con_nosuch", "x" * 5000, "con_%ED%A0%80"):
        assert dashboard.client.get(dashboard.url(f"contacts/{made_up}")).status_code == 404
    # Another app's list does not show this app's contacts.
    assert listed_in(dashboard, other.app.id) == []


def listed_in(dashboard: Dashboard, app_id: str) -> list[str]:
    response = dashboard.client.get(f"/dashboard/apps/{app_id}/contacts")
    assert response.status_code == 200
    return ROW.findall(response.text)


def test_a_hit_on_unverified_data_says_so(dashboard: Dashboard) -> None:
    dashboard.logged_in(AGENT)
    people(dashboard)
    page = dashboard.client.get(dashboard.url("contacts"), params={"q": "claimed-7"}).text
    assert 'data-matched="unverified"' in page
    verified = dashboard.client.get(dashboard.url("contacts"), params={"q": "user-42"}).text
    assert 'data-matched="unverified"' not in verified
