"""/demo, only with ``--demo``: the hash is computed on the server, and the
impersonation page carries a hash that the server refuses."""

from __future__ import annotations

import re
from collections.abc import Callable

from countersign import sign
from countersign.demo import DEMO_USER, OTHER_USER
from countersign.settings import load_settings
from countersign.storage import apps

from .conftest import Harness


def boot_values(html: str) -> dict[str, str]:
    return dict(re.findall(r'"(app_id|user_id|user_hash)": "([^"]+)"', html))


def test_without_demo_there_is_no_demo(harness: Harness) -> None:
    assert harness.client.get("/demo").status_code == 404
    assert harness.client.post("/demo/reply", json={}).status_code == 404


def test_countersign_demo_turns_it_on() -> None:
    assert load_settings(environ={"COUNTERSIGN_DEMO": "1"}).demo is True
    assert load_settings(environ={"COUNTERSIGN_DEMO": "0"}).demo is False
    assert load_settings(environ={}).demo is False


def test_the_demo_page_is_signed_on_the_server(make_harness: Callable[..., Harness]) -> None:
    harness = make_harness(demo=True)
    response = harness.client.get("/demo")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    boot = boot_values(response.text)
    assert boot["user_id"] == DEMO_USER.user_id
    secret = harness.backend.database.run_sync(
        lambda c: apps.reveal_secret(
            c,
            harness.backend.box,
            boot["app_id"],
            apps.list_secrets(c, boot["app_id"])[-1].id,
        )
    )
    assert boot["user_hash"] == sign(secret, DEMO_USER.user_id)
    assert secret.reveal().decode() not in response.text
    assert '<script src="/widget.js" data-app-id="' + boot["app_id"] in response.text
    identified = harness.client.post("/v1/widget/identify", json=boot)
    assert identified.json()["identity"]["status"] == "verified"


def test_the_impersonation_page_is_refused(make_harness: Callable[..., Harness]) -> None:
    harness = make_harness(demo=True)
    boot = boot_values(harness.client.get("/demo?impersonate=1").text)
    assert boot["user_id"] == OTHER_USER.user_id
    assert boot["user_hash"] == boot_values(harness.client.get("/demo").text)["user_hash"]
    refused = harness.client.post("/v1/widget/identify", json=boot)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "identity_verification_failed"


def test_demo_buttons_reach_the_demo_user(make_harness: Callable[..., Harness]) -> None:
    harness = make_harness(demo=True)
    assert harness.client.post("/demo/reply", content=b"{}").status_code == 415
    reply = harness.client.post("/demo/reply", json={})
    assert reply.status_code == 201
    assert reply.json()["author"] == {"type": "operator", "name": "Grace from Support"}
    notification = harness.client.post("/demo/notify", json={})
    assert notification.status_code == 201
    boot = boot_values(harness.client.get("/demo").text)
    token = harness.client.post("/v1/widget/identify", json=boot).json()["session_token"]
    headers = {"Authorization": f"Bearer {token}"}
    listed = harness.client.get("/v1/widget/notifications", headers=headers).json()
    assert listed["unread_count"] == 1
    conversations = harness.client.get("/v1/widget/conversations", headers=headers).json()
    assert [c["message_count"] for c in conversations["data"]] == [2]  # welcome + reply
