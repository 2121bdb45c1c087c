"""Regression tests for the session attacks of an adversarial review (issue 20).

Each test is named after the attack it guards and failed on the code before the fix
(pyjwt's ``test_advisory.py`` is the model). Every one runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update
from starlette.websockets import WebSocketDisconnect

from countersign import sign
from countersign.storage import apps
from countersign.storage.models import IdentitySecret
from countersign.vocabulary.clock import utcnow

from .conftest import Harness
from .test_access_rules import close_stream, open_stream, receive_until


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def session_status(harness: Harness, token: str) -> int:
    return int(harness.client.get("/v1/widget/session", headers=bearer(token)).status_code)


def invalidate(harness: Harness) -> None:
    harness.client.app.state.countersign.directory.invalidate(harness.app_id)  # type: ignore[attr-defined]


def notify(harness: Harness, user_id: str, title: str) -> None:
    response = harness.client.post(
        "/v1/notifications",
        json={"user_id": user_id, "title": title},
        headers=bearer(harness.api_key),
    )
    assert response.status_code == 201, response.text


# ---------------------------------------------------------------- 1. revocation


@pytest.mark.parametrize("holds_old_token", [False, True])
def test_revoking_a_secret_is_not_undone_by_identifying_again_with_another(
    harness: Harness, holds_old_token: bool
) -> None:
    first = harness.verified("leaked-user")
    old_token = first["session_token"]
    _, new_secret = harness.backend.database.run_sync(
        lambda c: apps.create_secret(c, harness.backend.box, harness.app_id)
    )
    harness.backend.database.run_sync(
        lambda c: apps.revoke_secret(c, harness.app_id, harness.secret_id)
    )
    invalidate(harness)
    assert session_status(harness, old_token) == 401
    # What the widget does by itself after the 401: identify the same browser again.
    again = harness.identify(
        user_id="leaked-user",
        user_hash=sign(new_secret, "leaked-user"),
        visitor_id=first["visitor_id"],
        headers=bearer(old_token) if holds_old_token else None,
    )
    assert again.status_code == 200, again.text
    assert session_status(harness, again.json()["session_token"]) == 200
    # Every token of the revoked secret, a stolen copy included, stays dead.
    assert session_status(harness, old_token) == 401


def test_a_secret_that_expires_ends_the_sessions_it_verified(harness: Harness) -> None:
    document = harness.verified("expiring-secret-user")
    token = document["session_token"]
    assert session_status(harness, token) == 200
    harness.backend.database.run_sync(
        lambda c: c.execute(
            update(IdentitySecret)
            .where(IdentitySecret.id == harness.secret_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    )
    assert session_status(harness, token) == 401


# ---------------------------------------------------------------- 2. logout


def test_a_visitor_id_read_from_a_logged_out_token_opens_no_history(harness: Harness) -> None:
    anonymous = harness.identify().json()
    token, visitor = anonymous["session_token"], anonymous["visitor_id"]
    started = harness.client.post(
        "/v1/widget/conversations", json={"body": "my card number is"}, headers=bearer(token)
    )
    assert started.status_code == 201
    # The token reveals nothing: no visitor id inside its payload.
    raw = base64.urlsafe_b64decode(token.removeprefix("cst_") + "==")
    assert visitor.encode() not in raw
    assert visitor.removeprefix("vis_").encode() not in raw
    assert harness.client.post("/v1/widget/logout", headers=bearer(token)).status_code == 200
    # Whoever kept the id still gets nothing of that browser's history.
    again = harness.identify(visitor_id=visitor).json()
    assert again["visitor_id"] != visitor
    assert again["contact"]["id"] != anonymous["contact"]["id"]
    listed = harness.client.get(
        "/v1/widget/conversations", headers=bearer(again["session_token"])
    ).json()
    assert listed == {"data": [], "next_cursor": None}


def test_a_verified_browsers_visitor_is_retired_by_logout(harness: Harness) -> None:
    first = harness.verified("logs-out")
    harness.client.post("/v1/widget/logout", headers=bearer(first["session_token"]))
    again = harness.verified("logs-out", visitor_id=first["visitor_id"])
    assert again["visitor_id"] != first["visitor_id"]
    assert session_status(harness, first["session_token"]) == 401


# ---------------------------------------------------------------- 3. identity switch


def test_an_identity_switch_closes_the_old_identitys_stream_before_anything_else(
    harness: Harness,
) -> None:
    alice = harness.verified("alice-on-a-shared-pc")
    socket, _ = open_stream(harness, alice["session_token"])
    try:
        bob = harness.verified(
            "bob-on-a-shared-pc",
            visitor_id=alice["visitor_id"],
            headers=bearer(alice["session_token"]),  # the widget holds its token
        )
        assert bob["visitor_id"] != alice["visitor_id"]
        notify(harness, "alice-on-a-shared-pc", "for alice only")
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json()  # the close, not alice's notification
        assert closed.value.code == 4401
    finally:
        close_stream(socket)
    assert session_status(harness, alice["session_token"]) == 401
    assert session_status(harness, bob["session_token"]) == 200


def test_a_replayed_visitor_id_cannot_end_another_browsers_session(harness: Harness) -> None:
    victim = harness.verified("victim-browser")
    socket, _ = open_stream(harness, victim["session_token"])
    try:
        # Another browser, knowing only the victim's visitor id, identifies as itself.
        attacker = harness.verified("attacker", visitor_id=victim["visitor_id"])
        assert attacker["visitor_id"] != victim["visitor_id"]
        anonymous = harness.identify(visitor_id=victim["visitor_id"]).json()
        assert anonymous["visitor_id"] != victim["visitor_id"]
        assert anonymous["contact"]["id"] != victim["contact"]["id"]
        # The victim's session and stream are untouched.
        assert session_status(harness, victim["session_token"]) == 200
        notify(harness, "victim-browser", "still yours")
        (event,) = receive_until(socket, lambda e: e["type"] == "notification.created")
        assert event["data"]["title"] == "still yours"
    finally:
        close_stream(socket)
    # ... and the victim's browser itself still identifies on its visitor.
    back = harness.verified("victim-browser", visitor_id=victim["visitor_id"])
    assert back["visitor_id"] == victim["visitor_id"]


def test_a_token_of_another_browser_proves_nothing(harness: Harness) -> None:
    victim = harness.verified("victim-two")
    mine = harness.verified("mallory-two")
    harness.verified(
        "mallory-two", visitor_id=victim["visitor_id"], headers=bearer(mine["session_token"])
    )
    assert session_status(harness, victim["session_token"]) == 200


# ---------------------------------------------------------------- tokens


def _respell(token: str) -> list[str]:
    text = token.removeprefix("cst_")
    last = text[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    # A last character that differs only in the bits the decoder drops: the same bytes.
    spare_bits = {2: 0b1111, 3: 0b11}.get(len(text) % 4, 0)
    same_bytes = [
        char
        for char in alphabet
        if char != last and alphabet.index(char) & ~spare_bits == alphabet.index(last) & ~spare_bits
    ]
    spellings = ["cst_" + text + "=", "cst_" + text + "==", "cst_" + text + ".", "cst_ " + text]
    spellings += ["cst_" + text[:-1] + char for char in same_bytes]
    return spellings


def test_a_token_spelled_another_way_is_refused(harness: Harness) -> None:
    token = harness.verified("spelling")["session_token"]
    respelled = _respell(token)
    assert len(respelled) > 4  # the token has spare bits to play with
    for other in respelled:
        assert session_status(harness, other) == 401, other
    assert session_status(harness, token) == 200


# ---------------------------------------------------------------- 5. floods


def test_a_flood_of_anonymous_visitors_from_one_address_is_limited(harness: Harness) -> None:
    limit = harness.settings.anonymous_per_minute
    returning = harness.identify().json()["visitor_id"]
    for attempt in range(limit - 1):
        assert harness.identify().status_code == 200, attempt
    flooded = harness.identify()
    assert flooded.status_code == 429
    assert flooded.json()["error"]["code"] == "rate_limited"
    assert int(flooded.headers["Retry-After"]) >= 1
    # Never counted, never refused: verified users, and a returning anonymous browser.
    assert harness.verified("real-user")["identity"]["status"] == "verified"
    assert harness.identify(visitor_id=returning).status_code == 200
    # A made-up visitor id is a new visitor: it cannot slip past the limit.
    assert harness.identify(visitor_id="vis_made_up_by_the_client").status_code == 429


def test_a_flood_of_anonymous_conversations_is_limited(harness: Harness) -> None:
    limit = harness.settings.anonymous_per_minute
    token = harness.identify().json()["session_token"]
    statuses: list[Any] = [
        harness.client.post("/v1/widget/conversations", json={}, headers=bearer(token))
        for _ in range(limit + 1)
    ]
    assert [r.status_code for r in statuses[:limit]] == [201] * limit
    assert statuses[limit].status_code == 429
    assert "Retry-After" in statuses[limit].headers
    verified = harness.verified("talks-a-lot")["session_token"]
    for _ in range(limit + 1):
        started = harness.client.post("/v1/widget/conversations", json={}, headers=bearer(verified))
        assert started.status_code == 201
