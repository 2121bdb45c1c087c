"""``GET /v1/contacts?query=`` (SPEC 10), on SQLite and PostgreSQL: case, parts of
words, unicode names, verified identifiers before unverified data (and each hit saying
which), pages, and bad queries. The 100k-contact timing is benchmarks/contact_search.py."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Harness
from .test_messaging_api import assert_error, bearer


@pytest.fixture
def people(make_harness: Any) -> Harness:
    harness = make_harness()
    key = bearer(harness.api_key)
    for user_id, email, name in (
        ("user-42", "zoe@example.com", "Zoë Quist"),
        ("user-43", "bjorn@example.org", "Björn Ångström"),
        ("acct-900", "ming@example.net", "明 王"),
    ):
        harness.verified(user_id)
        response = harness.client.put(
            f"/v1/users/{user_id}", json={"name": name, "email": email}, headers=key
        )
        assert response.status_code in (200, 201), response.text
    harness.set_policy(identity_mode="report")
    claimed = harness.identify(user_id="quist-impostor", user_hash="0" * 64)
    assert claimed.json()["identity"]["status"] == "unverified"
    # Anonymous, with metadata that names someone (only the browser says so).
    anonymous = harness.identify(user_metadata={"nickname": "zoe-fan"})
    started = harness.client.post(
        "/v1/widget/conversations",
        json={"body": "hi"},
        headers=harness.session_headers(anonymous.json()["session_token"]),
    )
    assert started.status_code == 201, started.text
    return harness


def search(harness: Harness, query: str, **params: Any) -> dict[str, Any]:
    response = harness.client.get(
        "/v1/contacts", params={"query": query, **params}, headers=bearer(harness.api_key)
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def hits(harness: Harness, query: str) -> list[tuple[str | None, str]]:
    """(user id, or the status of a contact that has none verified; what matched)."""
    return [
        (row["user_id"] if row["status"] == "verified" else row["status"], row["matched"])
        for row in search(harness, query)["data"]
    ]


def test_case_and_parts_of_words(people: Harness) -> None:
    assert hits(people, "USER-42") == [("user-42", "verified")]
    assert hits(people, "zoe@EXAMPLE") == [("user-42", "verified")]
    assert hits(people, "xampl")[0][1] == "verified"
    assert {user for user, _ in hits(people, "xampl")} >= {"user-42", "user-43", "acct-900"}


def test_unicode_names(people: Harness) -> None:
    assert hits(people, "zoË") == [("user-42", "verified")]
    assert hits(people, "ångström") == [("user-43", "verified")]
    assert hits(people, "BJÖRN") == [("user-43", "verified")]
    assert hits(people, "明") == [("acct-900", "verified")]


def test_verified_hits_come_first_and_unverified_ones_say_so(people: Harness) -> None:
    found = hits(people, "quist")
    assert found[0] == ("user-42", "verified")
    assert ("unverified", "unverified") in found
    zoe = hits(people, "zoe")
    assert zoe[0] == ("user-42", "verified")
    assert zoe[1:] == [("anonymous", "unverified")]  # the metadata's zoe-fan


def test_short_queries_and_wildcards(people: Harness) -> None:
    assert ("user-42", "verified") in hits(people, "42")
    assert hits(people, "%") == []
    assert hits(people, "_") == []
    assert hits(people, "no such person") == []


def test_pages(people: Harness) -> None:
    everyone = [row["id"] for row in search(people, "")["data"]]
    assert len(everyone) == 5
    seen: list[str] = []
    cursor = None
    while True:
        page = search(people, "e", limit=2, **({"cursor": cursor} if cursor else {}))
        seen += [row["id"] for row in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen))
    assert set(seen) <= set(everyone)
    assert len(seen) == len(search(people, "e", limit=100)["data"])


def test_bad_queries_are_4xx(people: Harness) -> None:
    key = bearer(people.api_key)
    for params in ({"query": "x" * 10_000}, {"query": "a\u0001b"}, {"cursor": "bogus"}):
        response = people.client.get("/v1/contacts", params=params, headers=key)
        assert_error(response, 422, response.json()["error"]["code"])
    nul = people.client.get("/v1/contacts?query=a%00b", headers=key)
    assert nul.status_code == 400
    assert set(nul.json()) == {"error"}
    assert people.client.get("/v1/contacts").status_code == 401
