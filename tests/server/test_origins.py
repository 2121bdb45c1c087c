"""Allowed origins and CORS on the widget API.

The widget authenticates with a bearer token, never a cookie, so CORS never allows
credentials; an app's allowed origins are enforced by the server (403), not left to
the browser.
"""

from __future__ import annotations

from typing import Any

from countersign import sign

from .conftest import Harness

SHOP = "https://shop.example"
EVIL = "https://evil.example"


def allow_shop(harness: Harness) -> None:
    harness.set_policy(allowed_origins=[SHOP, "http://localhost:3000"])


def identify_from(harness: Harness, origin: str | None, user_id: str = "shopper") -> Any:
    headers = {"Origin": origin} if origin is not None else None
    return harness.identify(
        user_id=user_id, user_hash=sign(harness.secret, user_id), headers=headers
    )


def assert_no_credentials(response: Any) -> None:
    assert "access-control-allow-credentials" not in response.headers


def assert_forbidden_origin(response: Any) -> None:
    assert response.status_code == 403, response.text
    assert response.json() == {
        "error": {"code": "origin_not_allowed", "message": response.json()["error"]["message"]}
    }
    assert_no_credentials(response)


def test_identify_from_another_origin_is_403(harness: Harness) -> None:
    allow_shop(harness)
    assert_forbidden_origin(identify_from(harness, EVIL))
    # Look-alikes of the allowed origin are other origins.
    for origin in (
        "http://shop.example",  # another scheme
        "https://shop.example:8443",  # another port
        "https://shop.example.evil.example",
        "https://evilshop.example",
        "null",  # a sandboxed iframe or a file:// page
    ):
        assert_forbidden_origin(identify_from(harness, origin))
    # A refused origin opened no session and verified nobody.
    assert all(entry["outcome"] != "verified" for entry in harness.log())
    assert harness.verified_count() == 0


def test_identify_from_the_allowed_origin_echoes_it(harness: Harness) -> None:
    allow_shop(harness)
    response = identify_from(harness, SHOP)
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == SHOP
    assert "origin" in response.headers["vary"].lower()
    assert_no_credentials(response)
    other = identify_from(harness, "http://localhost:3000")
    assert other.status_code == 200
    assert other.headers["access-control-allow-origin"] == "http://localhost:3000"


def test_origin_is_compared_without_case(harness: Harness) -> None:
    allow_shop(harness)
    assert identify_from(harness, "HTTPS://SHOP.EXAMPLE").status_code == 200


def test_no_origin_header_is_not_a_browser_and_is_allowed(harness: Harness) -> None:
    allow_shop(harness)
    response = identify_from(harness, None)
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


def test_any_origin_when_none_is_configured(harness: Harness) -> None:
    response = identify_from(harness, EVIL)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == EVIL
    assert_no_credentials(response)


def test_preflight_answers_204_with_cors_headers(harness: Harness) -> None:
    allow_shop(harness)
    for path in ("/v1/widget/identify", "/v1/widget/session", "/v1/widget/logout"):
        response = harness.client.options(
            path,
            headers={
                "Origin": SHOP,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        assert response.status_code == 204, (path, response.text)
        assert response.content == b""
        headers = response.headers
        assert headers["access-control-allow-origin"] == SHOP
        assert "POST" in headers["access-control-allow-methods"]
        assert "GET" in headers["access-control-allow-methods"]
        allowed_headers = {
            h.strip().lower() for h in headers["access-control-allow-headers"].split(",")
        }
        assert {"authorization", "content-type"} <= allowed_headers
        assert int(headers["access-control-max-age"]) > 0
        assert "origin" in headers["vary"].lower()
        assert_no_credentials(response)


def test_a_session_used_from_a_disallowed_origin_is_403(harness: Harness) -> None:
    allow_shop(harness)
    token = identify_from(harness, SHOP).json()["session_token"]
    auth = harness.session_headers(token)
    assert_forbidden_origin(
        harness.client.get("/v1/widget/session", headers={**auth, "Origin": EVIL})
    )
    assert_forbidden_origin(
        harness.client.post("/v1/widget/logout", headers={**auth, "Origin": EVIL})
    )
    # The refused logout did not end the session.
    ok = harness.client.get("/v1/widget/session", headers={**auth, "Origin": SHOP})
    assert ok.status_code == 200, ok.text
    assert ok.headers["access-control-allow-origin"] == SHOP


def test_narrowing_the_origins_applies_to_live_sessions(harness: Harness) -> None:
    token = identify_from(harness, EVIL).json()["session_token"]
    auth = {**harness.session_headers(token), "Origin": EVIL}
    assert harness.client.get("/v1/widget/session", headers=auth).status_code == 200
    allow_shop(harness)
    assert_forbidden_origin(harness.client.get("/v1/widget/session", headers=auth))


def test_never_allow_credentials(harness: Harness) -> None:
    allow_shop(harness)
    token = identify_from(harness, SHOP).json()["session_token"]
    responses = [
        identify_from(harness, SHOP),
        identify_from(harness, EVIL),
        harness.identify(user_id="nohash", headers={"Origin": SHOP}),  # 401
        harness.client.post(
            "/v1/widget/identify", json={"app_id": "app_nope"}, headers={"Origin": SHOP}
        ),  # 404
        harness.client.post("/v1/widget/identify", content=b"{", headers={"Origin": SHOP}),  # 415
        harness.client.get("/v1/widget/session", headers={"Origin": SHOP}),  # 401
        harness.client.get(
            "/v1/widget/session", headers={**harness.session_headers(token), "Origin": SHOP}
        ),
        harness.client.options(
            "/v1/widget/identify",
            headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"},
        ),
    ]
    for response in responses:
        assert_no_credentials(response)


def test_server_api_and_health_send_no_cors_headers(harness: Harness) -> None:
    """Only the widget API is for browsers; the server API key must never be usable
    from a page's script."""
    responses = [
        harness.client.put(
            "/v1/users/cors-user",
            json={"name": "Cors"},
            headers={"Authorization": f"Bearer {harness.api_key}", "Origin": EVIL},
        ),
        harness.client.get("/healthz", headers={"Origin": EVIL}),
    ]
    for response in responses:
        assert response.status_code == 200
        assert "access-control-allow-origin" not in response.headers
