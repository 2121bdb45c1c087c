"""The messaging REST API itself (SPEC sections 3 and 4): pagination, limits on what is
stored, idempotent retries, read state, events, and strict request bodies."""

from __future__ import annotations

import base64
import json
from typing import Any

from .conftest import Harness


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    document = response.json()
    assert set(document) == {"error"}, document
    assert set(document["error"]) == {"code", "message"}, document
    assert document["error"]["code"] == code, document
    assert isinstance(document["error"]["message"], str)
    assert document["error"]["message"]


def cursor_of(text: str) -> str:
    """A cursor in the server's own encoding (unpadded urlsafe base64) of ``text``."""
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


class Api:
    """A verified user's widget session plus the app's server API key."""

    def __init__(self, harness: Harness, user_id: str = "pager") -> None:
        self.harness = harness
        self.client = harness.client
        self.user_id = user_id
        self.session = bearer(harness.verified(user_id)["session_token"])
        self.key = bearer(harness.api_key)

    def conversation(self, body: str | None = None) -> dict[str, Any]:
        payload = {} if body is None else {"body": body}
        response = self.client.post("/v1/widget/conversations", json=payload, headers=self.session)
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    def message(self, conversation_id: str, body: str, **extra: Any) -> Any:
        return self.client.post(
            f"/v1/widget/conversations/{conversation_id}/messages",
            json={"body": body, **extra},
            headers=self.session,
        )

    def notify(self, title: str, **extra: Any) -> dict[str, Any]:
        response = self.client.post(
            "/v1/notifications",
            json={"user_id": self.user_id, "title": title, **extra},
            headers=self.key,
        )
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]


def walk(api: Api, path: str, headers: dict[str, str], limit: int) -> list[list[dict[str, Any]]]:
    """Every page of a list, following next_cursor to the end."""
    pages: list[list[dict[str, Any]]] = []
    params: dict[str, Any] = {"limit": limit}
    while True:
        response = api.client.get(path, params=params, headers=headers)
        assert response.status_code == 200, response.text
        document = response.json()
        assert len(document["data"]) <= limit
        pages.append(document["data"])
        if document["next_cursor"] is None:
            return pages
        assert isinstance(document["next_cursor"], str)
        params = {"limit": limit, "cursor": document["next_cursor"]}
        assert len(pages) < 50, "pagination does not end"


def flat_ids(pages: list[list[dict[str, Any]]]) -> list[str]:
    return [item["id"] for page in pages for item in page]


# ----------------------------------------------------------------------- pagination


def test_conversations_page_newest_activity_first_without_overlap_or_gap(
    harness: Harness,
) -> None:
    api = Api(harness)
    created = [api.conversation(f"question {i}")["id"] for i in range(7)]
    newest_first = created[::-1]
    for limit in (1, 3, 7, 100):
        pages = walk(api, "/v1/widget/conversations", api.session, limit)
        assert flat_ids(pages) == newest_first, limit
        assert [len(p) for p in pages][:-1] == [limit] * (len(pages) - 1)
    # The server API's view of the same user pages the same way.
    by_api = walk(api, f"/v1/users/{api.user_id}/conversations", api.key, 3)
    assert flat_ids(by_api) == newest_first
    # New activity moves the oldest conversation to the front.
    assert api.message(created[0], "bump").status_code == 201
    pages = walk(api, "/v1/widget/conversations", api.session, 2)
    assert flat_ids(pages) == [created[0], *newest_first[:-1]]
    first = pages[0][0]
    assert first["message_count"] == 2
    # A page of exactly the remaining items says so: no empty trailing page.
    exact = api.client.get(
        "/v1/widget/conversations", params={"limit": 7}, headers=api.session
    ).json()
    assert len(exact["data"]) == 7
    assert exact["next_cursor"] is None


def test_messages_page_oldest_first_without_overlap_or_gap(harness: Harness) -> None:
    api = Api(harness)
    conversation = api.conversation("m0")["id"]
    for i in range(1, 8):
        assert api.message(conversation, f"m{i}").status_code == 201
    path = f"/v1/widget/conversations/{conversation}/messages"
    for limit in (1, 3, 8, 100):
        pages = walk(api, path, api.session, limit)
        messages = [m for page in pages for m in page]
        assert [m["body"] for m in messages] == [f"m{i}" for i in range(8)]
        assert [m["seq"] for m in messages] == list(range(1, 9))
    by_api = walk(api, f"/v1/conversations/{conversation}/messages", api.key, 3)
    assert [m["body"] for page in by_api for m in page] == [f"m{i}" for i in range(8)]
    # A cursor taken before new messages arrived continues into them.
    first = api.client.get(path, params={"limit": 8}, headers=api.session).json()
    assert first["next_cursor"] is None
    partial = api.client.get(path, params={"limit": 4}, headers=api.session).json()
    api.message(conversation, "m8")
    rest = walk_from(api, path, partial["next_cursor"])
    assert [m["body"] for m in rest] == ["m4", "m5", "m6", "m7", "m8"]
    message = rest[-1]
    assert set(message) >= {"id", "conversation_id", "seq", "author", "body", "created_at"}
    assert message["author"] == {"type": "contact", "name": None}


def walk_from(api: Api, path: str, cursor: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while cursor is not None:
        document = api.client.get(
            path, params={"limit": 2, "cursor": cursor}, headers=api.session
        ).json()
        items.extend(document["data"])
        cursor = document["next_cursor"]
    return items


def test_notifications_page_newest_first_with_the_unread_count_on_every_page(
    harness: Harness,
) -> None:
    api = Api(harness)
    created = [api.notify(f"note {i}")["id"] for i in range(7)]
    for limit in (1, 3, 7, 100):
        path = "/v1/widget/notifications"
        params: dict[str, Any] = {"limit": limit}
        seen: list[str] = []
        while True:
            document = api.client.get(path, params=params, headers=api.session).json()
            assert document["unread_count"] == 7
            seen.extend(n["id"] for n in document["data"])
            if document["next_cursor"] is None:
                break
            params = {"limit": limit, "cursor": document["next_cursor"]}
        assert seen == created[::-1], limit


# ------------------------------------------------------------------- bad parameters


LIST_ROUTES = (
    "/v1/widget/conversations",
    "/v1/widget/conversations/{conversation}/messages",
    "/v1/widget/notifications",
)
API_LIST_ROUTES = ("/v1/users/{user}/conversations", "/v1/conversations/{conversation}/messages")


def list_requests(api: Api, conversation: str) -> list[tuple[str, dict[str, str]]]:
    """Every paginated list, widget and server API, with the headers it needs."""
    widget = [(p.format(conversation=conversation), api.session) for p in LIST_ROUTES]
    server = [
        (p.format(conversation=conversation, user=api.user_id), api.key) for p in API_LIST_ROUTES
    ]
    return widget + server


# Cursors that no version of the server hands out. Outside the declared form (not
# base64url, overlong): the route's 422 invalid_request. In that form, but the wrong
# number of parts or not text: 422 invalid_cursor.
MALFORMED_CURSORS = ["!!!", "=", "\u00e9", "a b", "A" * 201]
FOREIGN_CURSORS = [cursor_of("a|b|c"), base64.urlsafe_b64encode(b"\xff\xfe\xfd").decode()]


def test_garbage_cursors_and_limits_are_422_not_500(harness: Harness) -> None:
    api = Api(harness)
    conversation = api.conversation("hello")["id"]
    api.notify("hi")
    for path, headers in list_requests(api, conversation):
        for cursor in MALFORMED_CURSORS:
            response = api.client.get(path, params={"cursor": cursor}, headers=headers)
            assert_error(response, 422, "invalid_request")
        for cursor in FOREIGN_CURSORS:
            response = api.client.get(path, params={"cursor": cursor}, headers=headers)
            assert_error(response, 422, "invalid_cursor")
        for limit in ("0", "101", "-1", "x", "1.5", ""):
            response = api.client.get(path, params={"limit": limit}, headers=headers)
            assert_error(response, 422, "invalid_request")
        # An empty cursor is the first page.
        assert api.client.get(path, params={"cursor": ""}, headers=headers).status_code == 200
    # A messages cursor is not a conversations cursor, and the reverse.
    page = api.client.get(
        f"/v1/widget/conversations/{conversation}/messages",
        params={"limit": 1},
        headers=api.session,
    )
    assert page.status_code == 200
    api.message(conversation, "second")
    message_cursor = api.client.get(
        f"/v1/widget/conversations/{conversation}/messages",
        params={"limit": 1},
        headers=api.session,
    ).json()["next_cursor"]
    assert message_cursor is not None
    wrong = api.client.get(
        "/v1/widget/conversations", params={"cursor": message_cursor}, headers=api.session
    )
    assert_error(wrong, 422, "invalid_cursor")


def test_a_two_part_cursor_with_a_bad_timestamp_is_422(harness: Harness) -> None:
    api = Api(harness)
    conversation = api.conversation("hello")["id"]
    for path, headers in list_requests(api, conversation):
        if "messages" in path:
            continue
        for cursor in (cursor_of("garbage|cnv_x"), cursor_of("2024-13-45|cnv_x"), cursor_of("|")):
            response = api.client.get(path, params={"cursor": cursor}, headers=headers)
            assert_error(response, 422, "invalid_cursor")


def test_a_cursor_with_a_naive_timestamp_is_422(harness: Harness) -> None:
    api = Api(harness)
    conversation = api.conversation("hello")["id"]
    for path, headers in list_requests(api, conversation):
        if "messages" in path:
            continue
        cursor = cursor_of("2024-01-01T00:00:00|cnv_x")
        response = api.client.get(path, params={"cursor": cursor}, headers=headers)
        assert_error(response, 422, "invalid_cursor")


def test_a_messages_cursor_with_a_non_ascii_digit_is_422(harness: Harness) -> None:
    api = Api(harness)
    conversation = api.conversation("hello")["id"]
    for path, headers in list_requests(api, conversation):
        if "messages" not in path:
            continue
        for cursor in (cursor_of("\u00b2"), cursor_of("\u0661")):
            response = api.client.get(path, params={"cursor": cursor}, headers=headers)
            assert_error(response, 422, "invalid_cursor")


def test_a_messages_cursor_past_any_seq_is_an_empty_page_or_422(harness: Harness) -> None:
    api = Api(harness)
    conversation = api.conversation("hello")["id"]
    for path, headers in list_requests(api, conversation):
        if "messages" not in path:
            continue
        for number in ("9" * 10, "9" * 19, "9" * 60):
            response = api.client.get(path, params={"cursor": cursor_of(number)}, headers=headers)
            if response.status_code == 200:
                assert response.json() == {"data": [], "next_cursor": None}
            else:
                assert_error(response, 422, "invalid_cursor")


# ----------------------------------------------------------------- stored text limits


def test_message_bodies_are_bounded_and_must_be_text(harness: Harness) -> None:
    api = Api(harness)
    conversation = api.conversation()["id"]
    routes = [
        (f"/v1/widget/conversations/{conversation}/messages", api.session, {}),
        ("/v1/widget/conversations", api.session, {}),
        (
            f"/v1/conversations/{conversation}/messages",
            api.key,
            {"author": {"type": "bot", "name": "Bot"}},
        ),
        ("/v1/conversations", api.key, {"user_id": api.user_id}),
    ]
    for path, headers, extra in routes:

        def post(body: Any, path: str = path, headers: Any = headers, extra: Any = extra) -> Any:
            return api.client.post(path, json={**extra, "body": body}, headers=headers)

        for bad in ("", "x" * 10_001, "nul\x00inside", "\x00"):
            assert_error(post(bad), 422, "invalid_request")
        # A lone surrogate is refused as JSON that is not text (the project's rule for
        # every field, tests/server/test_bad_input.py): 400 invalid_json.
        raw = json.dumps({**extra, "body": "SURROGATE"}).replace("SURROGATE", "\\ud800 alone")
        response = api.client.post(
            path, content=raw, headers={**headers, "Content-Type": "application/json"}
        )
        assert_error(response, 400, "invalid_json")
        at_limit = post("\U0001f600" * 10_000)  # 10 000 characters, 40 000 bytes
        assert at_limit.status_code == 201, at_limit.text
        stored = at_limit.json().get("message", at_limit.json())
        assert stored["body"] == "\U0001f600" * 10_000
        assert post("  a normal message \u00e9 ").status_code == 201
    # Nothing refused was stored.
    messages = api.client.get(
        f"/v1/widget/conversations/{conversation}/messages",
        params={"limit": 100},
        headers=api.session,
    ).json()["data"]
    assert len(messages) == 4  # two per route that names this conversation
    assert all(len(m["body"]) <= 10_000 and "\x00" not in m["body"] for m in messages)
    assert messages[0]["body"] == "\U0001f600" * 10_000


# ------------------------------------------------------------------- idempotency


def test_a_repeated_client_id_returns_the_original_message(harness: Harness) -> None:
    api = Api(harness)
    first = api.conversation()["id"]
    second = api.conversation()["id"]
    original = api.message(first, "hello", client_id="c-1")
    assert original.status_code == 201
    again = api.message(first, "hello", client_id="c-1")
    assert again.status_code == 200
    assert again.json() == original.json()
    # Even with another body: the retry is answered with the original, unchanged.
    changed = api.message(first, "something else", client_id="c-1")
    assert changed.status_code == 200
    assert changed.json()["id"] == original.json()["id"]
    assert changed.json()["body"] == "hello"
    # Another conversation may use the same client_id.
    elsewhere = api.message(second, "hello", client_id="c-1")
    assert elsewhere.status_code == 201
    assert elsewhere.json()["id"] != original.json()["id"]
    # No client_id: every post is a new message.
    plain = [api.message(first, "no id").json()["id"] for _ in range(2)]
    assert len(set(plain)) == 2
    # The server API's client_id works the same way, in the same namespace.
    author = {"type": "bot", "name": "Bot"}
    path = f"/v1/conversations/{first}/messages"
    bot = api.client.post(
        path, json={"body": "bot says", "author": author, "client_id": "b-1"}, headers=api.key
    )
    assert bot.status_code == 201
    bot_again = api.client.post(
        path, json={"body": "bot says", "author": author, "client_id": "b-1"}, headers=api.key
    )
    assert bot_again.status_code == 200
    assert bot_again.json()["id"] == bot.json()["id"]
    listed = api.client.get(
        f"/v1/widget/conversations/{first}/messages", headers=api.session
    ).json()["data"]
    assert [m["body"] for m in listed] == ["hello", "no id", "no id", "bot says"]
    assert [m["seq"] for m in listed] == [1, 2, 3, 4]  # retries took no seq
    conversations = api.client.get("/v1/widget/conversations", headers=api.session).json()
    counts = {c["id"]: c["message_count"] for c in conversations["data"]}
    assert counts == {first: 4, second: 1}
    # client_id itself is bounded text.
    for bad in ("", "x" * 65, "a\x00b"):
        assert_error(api.message(first, "x", client_id=bad), 422, "invalid_request")
    assert api.message(first, "x", client_id="x" * 64).status_code == 201


# --------------------------------------------------------------- notifications


def test_unread_count_goes_up_with_notifications_and_down_with_reads(harness: Harness) -> None:
    api = Api(harness)

    def unread() -> int:
        document = api.client.get("/v1/widget/notifications", headers=api.session).json()
        return int(document["unread_count"])

    def read(notification_id: str) -> Any:
        return api.client.post(
            f"/v1/widget/notifications/{notification_id}/read", headers=api.session
        )

    assert unread() == 0
    created = api.notify("first", body="details", url="https://example.com/x", data={"order": 7})
    assert created["user_id"] == api.user_id
    assert created["read"] is False
    assert created["read_at"] is None
    ids = [created["id"], api.notify("second")["id"], api.notify("third")["id"]]
    assert unread() == 3
    marked = read(ids[0])
    assert marked.status_code == 200, marked.text
    assert marked.json()["read"] is True
    assert marked.json()["read_at"] is not None
    assert marked.json()["data"] == {"order": 7}
    assert unread() == 2
    twice = read(ids[0])
    assert twice.status_code == 200
    assert twice.json()["read_at"] == marked.json()["read_at"]  # the first read stands
    assert unread() == 2
    for notification_id in ids[1:]:
        assert read(notification_id).status_code == 200
    assert unread() == 0
    api.notify("fourth")
    assert unread() == 1
    listed = api.client.get("/v1/widget/notifications", headers=api.session).json()["data"]
    assert [n["read"] for n in listed] == [False, True, True, True]
    # An unknown id is 404.
    assert_error(read("ntf_doesnotexist0"), 404, "not_found")


def test_notification_fields_are_checked(harness: Harness) -> None:
    api = Api(harness)

    def post(body: dict[str, Any]) -> Any:
        return api.client.post("/v1/notifications", json=body, headers=api.key)

    base = {"user_id": api.user_id, "title": "t"}
    for bad in (
        {**base, "title": ""},
        {**base, "title": "x" * 501},
        {**base, "url": "javascript:alert(1)"},
        {**base, "url": "data:text/html,x"},
        {**base, "data": {"k": "a\x00b"}},
    ):
        assert_error(post(bad), 422, "invalid_request")
    for bad_user in ("", "a\x00", "x" * 256):
        response = post({**base, "user_id": bad_user})
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] in {"invalid_identifier", "invalid_request"}
    # An integer user id is the decimal string.
    numeric = post({"user_id": 1234, "title": "numeric"})
    assert numeric.status_code == 201
    assert numeric.json()["user_id"] == "1234"
    for ok_url in ("https://example.com", "/inbox"):
        assert post({**base, "url": ok_url}).status_code == 201


# ------------------------------------------------------------------------- events


def test_events_are_recorded_and_listed_newest_first(harness: Harness) -> None:
    api = Api(harness)
    names = ["signed.in", "page.viewed", "button.clicked"]
    recorded = []
    for i, name in enumerate(names):
        response = api.client.post(
            "/v1/widget/events",
            json={"name": name, "properties": {"i": i, "nested": {"ok": True}}},
            headers=api.session,
        )
        assert response.status_code == 201, response.text
        event = response.json()
        assert event["name"] == name
        assert event["properties"] == {"i": i, "nested": {"ok": True}}
        assert event["id"]
        assert event["created_at"]
        recorded.append(event)
    bare = api.client.post("/v1/widget/events", json={"name": "no.properties"}, headers=api.session)
    assert bare.status_code == 201
    assert bare.json()["properties"] == {}
    listed = api.client.get(f"/v1/users/{api.user_id}/events", headers=api.key)
    assert listed.status_code == 200
    document = listed.json()
    assert [e["name"] for e in document["data"]] == ["no.properties", *names[::-1]]
    assert document["data"][1:] == recorded[::-1]
    limited = api.client.get(
        f"/v1/users/{api.user_id}/events", params={"limit": 2}, headers=api.key
    ).json()["data"]
    assert [e["name"] for e in limited] == ["no.properties", "button.clicked"]
    # Another user, and a user who never came, have none.
    assert api.client.get("/v1/users/nobody/events", headers=api.key).json()["data"] == []
    # Bad events are refused and not recorded.
    for bad in (
        {"name": ""},
        {"name": "x" * 256},
        {"name": "a\x00"},
        {"name": "ok", "properties": {"big": "x" * 8_001}},
    ):
        response = api.client.post("/v1/widget/events", json=bad, headers=api.session)
        assert_error(response, 422, "invalid_request")
    after = api.client.get(f"/v1/users/{api.user_id}/events", headers=api.key).json()["data"]
    assert len(after) == 4


# ------------------------------------------------------------- strict request bodies


def _wrong_types(conversation: str, user_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(who, path, body) for a wrong type in every field of every body."""
    author = {"type": "bot", "name": "Bot"}
    cases: list[tuple[str, str, dict[str, Any]]] = []
    messages = f"/v1/widget/conversations/{conversation}/messages"
    api_messages = f"/v1/conversations/{conversation}/messages"
    not_text: list[Any] = [1, 1.5, True, None, [], {}, ["x"]]
    not_object: list[Any] = [1, "x", True, [], ["x"]]
    for value in not_text:
        cases += [
            ("widget", messages, {"body": value}),
            ("widget", "/v1/widget/events", {"name": value}),
            ("api", api_messages, {"body": value, "author": author}),
            ("api", api_messages, {"body": "ok", "author": {"type": "bot", "name": value}}),
            ("api", api_messages, {"body": "ok", "author": {"type": value, "name": "x"}}),
            ("api", "/v1/conversations", {"user_id": user_id, "body": value}),
            ("api", "/v1/notifications", {"user_id": user_id, "title": value}),
        ]
        if value is not None:  # these fields are optional: null means absent
            cases += [
                ("widget", "/v1/widget/conversations", {"body": value}),
                ("widget", "/v1/widget/conversations", {"body": "ok", "client_id": value}),
                ("widget", messages, {"body": "ok", "client_id": value}),
                ("api", api_messages, {"body": "ok", "author": author, "client_id": value}),
                ("api", "/v1/notifications", {"user_id": user_id, "title": "t", "body": value}),
                ("api", "/v1/notifications", {"user_id": user_id, "title": "t", "url": value}),
                ("api", f"/v1/users/{user_id}", {"email": value}),
                ("api", f"/v1/users/{user_id}", {"name": value}),
            ]
    for value in not_object:
        cases += [
            ("widget", "/v1/widget/events", {"name": "n", "properties": value}),
            ("api", api_messages, {"body": "ok", "author": value}),
            ("api", "/v1/conversations", {"user_id": user_id, "body": "b", "author": value}),
            ("api", "/v1/notifications", {"user_id": user_id, "title": "t", "data": value}),
            ("api", f"/v1/users/{user_id}", {"attributes": value}),
        ]
    # user_id: a string or an integer, nothing else
    for value in (1.5, True, False, None, [], {}, ["u"]):
        cases += [
            ("api", "/v1/conversations", {"user_id": value, "body": "b"}),
            ("api", "/v1/notifications", {"user_id": value, "title": "t"}),
        ]
    # required fields missing, and an author type outside the list
    cases += [
        ("widget", messages, {}),
        ("widget", "/v1/widget/events", {}),
        ("api", api_messages, {"body": "ok"}),
        ("api", api_messages, {"author": author}),
        ("api", api_messages, {"body": "ok", "author": {"type": "bot"}}),
        ("api", api_messages, {"body": "ok", "author": {"type": "contact", "name": "x"}}),
        ("api", api_messages, {"body": "ok", "author": {"type": "BOT", "name": "x"}}),
        ("api", "/v1/conversations", {"body": "b"}),
        ("api", "/v1/conversations", {"user_id": user_id}),
        ("api", "/v1/notifications", {"user_id": user_id}),
        ("api", "/v1/notifications", {"title": "t"}),
    ]
    return cases


def _send(api: Api, who: str, path: str, body: Any) -> Any:
    headers = api.session if who == "widget" else api.key
    method = api.client.put if path.startswith("/v1/users/") else api.client.post
    return method(path, json=body, headers=headers)


def test_a_wrong_type_in_any_body_field_is_422_invalid_request(harness: Harness) -> None:
    api = Api(harness)
    conversation = api.conversation("hello")["id"]
    for who, path, body in _wrong_types(conversation, api.user_id):
        response = _send(api, who, path, body)
        assert response.status_code == 422, (path, body, response.text)
        assert_error(response, 422, "invalid_request")
    # A body that is not an object at all.
    for who, path, _ in _wrong_types(conversation, api.user_id)[:8]:
        for document in ([], "text", 1, None):
            raw = api.client.post(
                path,
                content=json.dumps(document),
                headers={
                    **(api.session if who == "widget" else api.key),
                    "Content-Type": "application/json",
                },
            )
            assert_error(raw, 422, "invalid_request")
    # Nothing was stored by any of it.
    listed = api.client.get(
        f"/v1/widget/conversations/{conversation}/messages", headers=api.session
    ).json()["data"]
    assert [m["body"] for m in listed] == ["hello"]
    conversations = api.client.get("/v1/widget/conversations", headers=api.session).json()
    assert len(conversations["data"]) == 1
    notes = api.client.get("/v1/widget/notifications", headers=api.session).json()
    assert notes["data"] == []
    assert api.client.get(f"/v1/users/{api.user_id}/events", headers=api.key).json()["data"] == []


def test_unknown_fields_are_422(harness: Harness) -> None:
    api = Api(harness)
    conversation = api.conversation("hello")["id"]
    author = {"type": "bot", "name": "Bot"}
    valid: list[tuple[str, str, dict[str, Any]]] = [
        ("widget", "/v1/widget/conversations", {"body": "b"}),
        ("widget", f"/v1/widget/conversations/{conversation}/messages", {"body": "b"}),
        ("widget", "/v1/widget/events", {"name": "n"}),
        ("api", f"/v1/conversations/{conversation}/messages", {"body": "b", "author": author}),
        ("api", "/v1/conversations", {"user_id": api.user_id, "body": "b"}),
        ("api", "/v1/notifications", {"user_id": api.user_id, "title": "t"}),
        ("api", f"/v1/users/{api.user_id}", {"name": "N"}),
    ]
    for who, path, body in valid:
        for extra in ({"bodyy": "x"}, {"contact_id": "con_x"}, {"app_id": "app_x"}, {"": 1}):
            response = _send(api, who, path, {**body, **extra})
            assert_error(response, 422, "invalid_request")
    # Inside the author object too.
    response = api.client.post(
        f"/v1/conversations/{conversation}/messages",
        json={"body": "b", "author": {**author, "avatar": "x"}},
        headers=api.key,
    )
    assert_error(response, 422, "invalid_request")
    # The same bodies without the extra field are accepted.
    for who, path, body in valid:
        assert _send(api, who, path, body).status_code in {200, 201}


def test_the_server_api_answers_404_for_an_unknown_conversation(harness: Harness) -> None:
    api = Api(harness)
    author = {"type": "operator", "name": "Ann"}
    real = api.conversation("hello")["id"]
    for unknown in ("cnv_doesnotexist", real.upper(), real[:-1], real + "x", "x" * 500):
        path = f"/v1/conversations/{unknown}/messages"
        assert_error(api.client.get(path, headers=api.key), 404, "not_found")
        posted = api.client.post(path, json={"body": "hi", "author": author}, headers=api.key)
        assert_error(posted, 404, "not_found")
    # The real one works, for the widget's own conversations too.
    path = f"/v1/conversations/{real}/messages"
    posted = api.client.post(path, json={"body": "reply", "author": author}, headers=api.key)
    assert posted.status_code == 201
    assert posted.json()["author"] == author
    listed = api.client.get(path, headers=api.key).json()["data"]
    assert [m["body"] for m in listed] == ["hello", "reply"]
    # Without a key, or with a session token as the key: 401, not 404.
    for headers in ({}, api.session, {"Authorization": "Basic abc"}):
        assert_error(api.client.get(path, headers=headers), 401, "invalid_api_key")
    # Unknown users simply have nothing yet.
    empty = api.client.get("/v1/users/never-seen/conversations", headers=api.key)
    assert empty.json() == {"data": [], "next_cursor": None}
