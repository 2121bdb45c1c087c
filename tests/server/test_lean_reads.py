"""``GET /v1/widget/conversations`` answered ahead of the framework (server/ahead.py)
answers exactly what the framework's route does: the same pages, the same errors in
the same shape, CORS, the request id; a query the lean path does not take (a cursor,
a bad limit, anything else) goes through the framework and its validation."""

from __future__ import annotations

from typing import Any

import pytest

from countersign.server.ahead import plain_limit

from .conftest import Harness

PATH = "/v1/widget/conversations"
# "?cursor=" (empty: the first page) is never taken by the lean path: the framework's.
FRAMEWORK = PATH + "?cursor="
SHOP = "https://shop.example"


def _start(harness: Harness, headers: dict[str, str], n: int) -> None:
    for i in range(n):
        created = harness.client.post(PATH, json={"body": f"hello {i}"}, headers=headers)
        assert created.status_code == 201, created.text


def _same(lean: Any, framework: Any) -> None:
    assert lean.status_code == framework.status_code, (lean.text, framework.text)
    assert lean.json() == framework.json()
    assert lean.headers["content-type"] == framework.headers["content-type"]
    assert lean.headers["x-request-id"] != framework.headers["x-request-id"]


def test_pages_are_the_frameworks(harness: Harness) -> None:
    headers = harness.session_headers(harness.verified("reader")["session_token"])
    empty = harness.client.get(PATH, headers=headers)
    _same(empty, harness.client.get(FRAMEWORK, headers=headers))
    assert empty.json() == {"data": [], "next_cursor": None}

    _start(harness, headers, 5)
    whole = harness.client.get(PATH, headers=headers)
    _same(whole, harness.client.get(FRAMEWORK, headers=headers))
    assert [c["message_count"] for c in whole.json()["data"]] == [1] * 5

    first = harness.client.get(PATH + "?limit=2", headers=headers)
    _same(first, harness.client.get(FRAMEWORK + "&limit=2", headers=headers))
    cursor = first.json()["next_cursor"]
    assert cursor
    ids = [c["id"] for c in first.json()["data"]]
    while cursor:  # the rest, through the framework's cursor pages
        page = harness.client.get(f"{PATH}?limit=2&cursor={cursor}", headers=headers).json()
        ids += [c["id"] for c in page["data"]]
        cursor = page["next_cursor"]
    assert ids == [c["id"] for c in whole.json()["data"]]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Basic eDp5"},
    ],
    ids=["none", "forged", "other-scheme"],
)
def test_refusals_are_the_frameworks(harness: Harness, headers: dict[str, str]) -> None:
    lean = harness.client.get(PATH, headers=headers)
    assert lean.status_code == 401
    assert lean.json()["error"]["code"] == "invalid_session"
    _same(lean, harness.client.get(FRAMEWORK, headers=headers))


def test_an_ended_session_and_another_origin_are_refused(harness: Harness) -> None:
    harness.set_policy(allowed_origins=[SHOP])
    token = harness.verified("leaver", headers={"Origin": SHOP})["session_token"]
    headers = {**harness.session_headers(token), "Origin": SHOP}
    ok = harness.client.get(PATH, headers=headers)
    assert ok.status_code == 200, ok.text
    assert ok.headers["access-control-allow-origin"] == SHOP
    evil = harness.client.get(PATH, headers={**headers, "Origin": "https://evil.example"})
    assert evil.status_code == 403
    assert evil.json()["error"]["code"] == "origin_not_allowed"
    assert harness.client.post("/v1/widget/logout", headers=headers).status_code in (200, 204)
    ended = harness.client.get(PATH, headers=headers)
    assert ended.status_code == 401
    _same(ended, harness.client.get(FRAMEWORK, headers=headers))
    assert ended.headers["access-control-allow-origin"] == SHOP


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (b"", 50),
        (b"limit=1", 1),
        (b"limit=100", 100),
        (b"limit=0", None),
        (b"limit=101", None),
        (b"limit=-1", None),
        (b"limit=", None),
        (b"limit=abc", None),
        (b"limit=0001", None),
        (b"limit=%31", None),
        (b"limit=5&limit=6", None),
        (b"cursor=", None),
        (b"limit=5&x=1", None),
        (b"x=1", None),
        (b"limit=%00", None),
    ],
)
def test_only_a_plain_query_takes_the_lean_path(query: bytes, expected: int | None) -> None:
    assert plain_limit(query) == expected


def test_a_bad_limit_gets_the_frameworks_validation(harness: Harness) -> None:
    headers = harness.session_headers(harness.verified("validator")["session_token"])
    for query in ("limit=0", "limit=101", "limit=abc", "limit=%00"):
        response = harness.client.get(f"{PATH}?{query}", headers=headers)
        assert 400 <= response.status_code < 500, response.text
        assert set(response.json()) == {"error"}


NOTIFICATIONS = "/v1/widget/notifications"


def test_the_notification_inbox_is_the_frameworks(harness: Harness) -> None:
    api = {"Authorization": f"Bearer {harness.api_key}"}
    for title in ("one", "two", "three"):
        sent = harness.client.post(
            "/v1/notifications", json={"user_id": "inboxed", "title": title}, headers=api
        )
        assert sent.status_code == 201, sent.text
    verified = harness.session_headers(harness.verified("inboxed")["session_token"])
    lean = harness.client.get(NOTIFICATIONS, headers=verified)
    _same(lean, harness.client.get(NOTIFICATIONS + "?cursor=", headers=verified))
    assert [n["title"] for n in lean.json()["data"]] == ["three", "two", "one"]
    assert lean.json()["unread_count"] == 3
    two = harness.client.get(NOTIFICATIONS + "?limit=2", headers=verified)
    _same(two, harness.client.get(NOTIFICATIONS + "?cursor=&limit=2", headers=verified))
    assert two.json()["next_cursor"]

    # An unverified session has no notifications, on either path.
    anonymous = harness.identify()
    assert anonymous.status_code == 200, anonymous.text
    headers = harness.session_headers(anonymous.json()["session_token"])
    empty = harness.client.get(NOTIFICATIONS, headers=headers)
    _same(empty, harness.client.get(NOTIFICATIONS + "?cursor=", headers=headers))
    assert empty.json() == {"data": [], "next_cursor": None, "unread_count": 0}
    refused = harness.client.get(NOTIFICATIONS, headers={"Authorization": "Bearer x"})
    _same(
        refused,
        harness.client.get(NOTIFICATIONS + "?cursor=", headers={"Authorization": "Bearer x"}),
    )
