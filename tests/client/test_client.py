"""countersign.client against a real ``countersign serve``: every server API route has
its method, each works, errors carry the API's code, and the retry rules hold."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import httpx2
import pytest

from countersign.client import AsyncClient, Client, CountersignError
from countersign.client.calls import MAX_ATTEMPTS, Call, delay, settle
from countersign.client.resources import ROUTES
from countersign.context import open_backend
from countersign.settings import load_settings
from countersign.storage import apps
from tests.cli.serving import serving

BOT = {"type": "bot", "name": "Billing bot"}


@dataclass
class Served:
    url: str
    api_key: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data = tmp_path_factory.mktemp("client") / "data"
    backend = open_backend(load_settings({}, data_dir=data))
    try:
        created = backend.database.run_sync(lambda c: apps.create_app(c, backend.box, "Acme"))
    finally:
        backend.close()
    with serving(["--data-dir", str(data)]) as (_, port):
        yield Served(f"http://127.0.0.1:{port}", created.api_key)


def test_every_server_api_route_has_a_method(served: Served) -> None:
    with urllib.request.urlopen(served.url + "/openapi.json") as response:
        document = json.load(response)
    server_api = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if operation.get("security") == [{"apiKey": []}]
    }
    assert server_api - ROUTES == set(), "server API routes without a client method"
    assert ROUTES - server_api == set(), "client methods for routes the server lacks"


def test_the_sync_client_end_to_end(served: Served) -> None:
    with Client(served.url, api_key=served.api_key) as client:
        user = client.users.upsert("1235", email="ann@example.com", name="Ann")
        assert (user["user_id"], user["verified"]) == ("1235", True)
        odd = client.users.upsert("a/b c?d")  # every character travels as itself
        assert odd["user_id"] == "a/b c?d"
        notification = client.notifications.create(user_id="1235", title="Invoice ready")
        assert notification["title"] == "Invoice ready"
        once = client.notifications.create(user_id="1235", title="Once", idempotency_key="n-1")
        again = client.notifications.create(user_id="1235", title="Once", idempotency_key="n-1")
        assert again["id"] == once["id"]  # the key made the repeat the first result
        client.users.upsert("1236")
        bulk = client.notifications.create(
            user_ids=["1235", "1236"], title="Maintenance", category="status"
        )
        assert len(bulk["data"]) == 2
        titles = [n["title"] for n in client.pages(client.notifications.list, "1235")]
        assert sorted(titles) == ["Invoice ready", "Maintenance", "Once"]
        client.notifications.set_preferences("1236", {"status": {"in_app": False, "email": False}})
        assert client.notifications.preferences("1236")["categories"]["status"]["in_app"] is False
        client.notifications.delete(notification["id"])
        assert len(client.notifications.list("1235")["data"]) == 2
        started = client.conversations.create(user_id="1235", body="Hello", author=BOT)
        conversation_id = started["id"]
        first = client.conversations.post_message(
            conversation_id, body="once", author=BOT, client_id="k-1"
        )
        again = client.conversations.post_message(
            conversation_id, body="once", author=BOT, client_id="k-1"
        )
        assert again["id"] == first["id"]  # the key made the repeat the same message
        for n in range(4):
            client.conversations.post_message(conversation_id, body=f"m{n}", author=BOT)
        bodies = [
            m["body"] for m in client.pages(client.conversations.messages, conversation_id, limit=2)
        ]
        assert bodies == ["Hello", "once", "m0", "m1", "m2", "m3"]
        listed = list(client.pages(client.users.conversations, "1235", limit=1))
        assert [c["id"] for c in listed] == [conversation_id]
        assert client.users.events("1235")["data"] == []
        with pytest.raises(CountersignError) as refused:
            client.actions.call("no-such-action", user_id="1235")
        assert refused.value.status == 404
        assert refused.value.code == "action_not_found"


def test_the_team_uploads_and_attaches_a_file(served: Served) -> None:
    with Client(served.url, api_key=served.api_key) as client:
        started = client.conversations.create(user_id="2001", body="Hi", author=BOT)
        upload = client.attachments.upload("report.pdf", b"%PDF-1.4 report")
        assert upload["content_type"] == "application/pdf"
        posted = client.conversations.post_message(
            started["id"], body="your report", author=BOT, attachment_ids=[upload["id"]]
        )
        assert [a["id"] for a in posted["attachments"]] == [upload["id"]]
        with pytest.raises(CountersignError) as refused:
            client.attachments.upload("page.html", b"<html><script>alert(1)</script>")
        assert (refused.value.status, refused.value.code) == (415, "file_type_not_allowed")


def test_a_bad_api_key_is_a_typed_error(served: Served) -> None:
    with Client(served.url, api_key="csk_nope") as client, pytest.raises(CountersignError) as error:
        client.notifications.create(user_id="1235", title="x")
    assert (error.value.status, error.value.code) == (401, "invalid_api_key")


def test_bad_input_is_a_typed_error(served: Served) -> None:
    with (
        Client(served.url, api_key=served.api_key) as client,
        pytest.raises(CountersignError) as error,
    ):
        client.notifications.create(user_id="1235", title="")
    assert error.value.status == 422
    assert error.value.code == "invalid_request"


def test_the_async_client_end_to_end(served: Served) -> None:
    async def run() -> list[str]:
        async with AsyncClient(served.url, api_key=served.api_key) as client:
            await client.users.upsert("async-1")
            started = await client.conversations.create(user_id="async-1", body="hi", author=BOT)
            for n in range(3):
                await client.conversations.post_message(started["id"], body=f"a{n}", author=BOT)
            async with AsyncClient(served.url, api_key="csk_nope") as bad:
                with pytest.raises(CountersignError, match="invalid_api_key"):
                    await bad.notifications.create(user_id="async-1", title="x")
            return [
                m["body"]
                async for m in client.pages(client.conversations.messages, started["id"], limit=2)
            ]

    assert asyncio.run(run()) == ["hi", "a0", "a1", "a2"]


# The retry rules, on real httpx2 responses ----------------------------------------


def _response(status: int, headers: dict[str, str] | None = None) -> httpx2.Response:
    body = {"error": {"code": "rate_limited" if status == 429 else "x", "message": "m"}}
    return httpx2.Response(status, json=body, headers=headers or {})


def test_a_429_is_retried_after_its_retry_after_even_for_a_post() -> None:
    post = Call("POST", "/v1/notifications")
    assert settle(post, 1, _response(429, {"Retry-After": "2"})) == 2.0
    with pytest.raises(CountersignError) as error:  # not for ever
        settle(post, MAX_ATTEMPTS, _response(429, {"Retry-After": "2"}))
    assert (error.value.code, error.value.retry_after) == ("rate_limited", 2.0)


def test_a_5xx_is_retried_only_where_a_repeat_is_harmless() -> None:
    read = Call("GET", "/v1/users/x/events", idempotent=True)
    post = Call("POST", "/v1/notifications")
    wait = settle(read, 1, _response(503))
    assert isinstance(wait, float)
    assert 0 < wait <= 0.25
    assert isinstance(settle(read, 3, _response(503)), float)
    with pytest.raises(CountersignError):
        settle(post, 1, _response(503))  # it may have been done: never twice
    assert delay(post, 1, None, None) is None  # a lost connection likewise
    assert delay(read, 1, None, None) is not None
    with pytest.raises(CountersignError):
        settle(read, 1, _response(400))  # a client error is never retried


def test_revoking_a_user_sync_and_async(served: Served) -> None:
    with Client(served.url, api_key=served.api_key) as client:
        revoked = client.users.revoke("leaked-1")
    assert (revoked["revoked"], revoked["user_id"]) == (True, "leaked-1")

    async def run() -> dict[str, object]:
        async with AsyncClient(served.url, api_key=served.api_key) as client:
            return await client.users.revoke("leaked/2")

    assert asyncio.run(run())["user_id"] == "leaked/2"
