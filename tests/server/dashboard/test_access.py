"""Who reaches what: logged-out visitors nothing, agents the inbox only, and no form
without its CSRF token. Every page carries the Content-Security-Policy."""

from __future__ import annotations

import hashlib

import pytest
from starlette.websockets import WebSocketDisconnect

from countersign.server.dashboard.security import CONTENT_SECURITY_POLICY, SESSION_COOKIE
from countersign.storage.models import OperatorSession

from .conftest import AGENT, Dashboard, csrf_of

OWNER_PAGES = ("identity", "install", "log")
OWNER_FORMS = (
    "identity/policy",
    "identity/secrets",
    "identity/secrets/sec_x/reveal",
    "identity/secrets/sec_x/revoke",
    "identity/api-keys",
    "identity/api-keys/key_x/revoke",
)


def every_page(dashboard: Dashboard) -> list[str]:
    conversation_id, _ = dashboard.conversation("page-user")
    return [
        "/dashboard/apps",
        dashboard.url("inbox"),
        dashboard.url(f"inbox/{conversation_id}"),
        *(dashboard.url(page) for page in OWNER_PAGES),
    ]


def test_a_logged_out_visitor_is_sent_to_the_login_page(dashboard: Dashboard) -> None:
    for path in every_page(dashboard):
        response = dashboard.client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/dashboard/login?next=%2Fdashboard")
    assert dashboard.client.get("/dashboard", follow_redirects=False).headers["location"] == (
        "/dashboard/login"
    )


def test_a_logged_out_visitor_can_post_nothing(dashboard: Dashboard) -> None:
    conversation_id, _ = dashboard.conversation("post-user")
    for form in (*OWNER_FORMS, f"inbox/{conversation_id}/reply"):
        response = dashboard.client.post(
            dashboard.url(form), data={"body": "hi", "csrf_token": "x"}, follow_redirects=False
        )
        assert response.status_code == 303, form
        assert response.headers["location"] == "/dashboard/login"
    # A fetch gets a JSON 401 instead of a redirect.
    response = dashboard.client.post(
        dashboard.url(f"inbox/{conversation_id}/reply"),
        data={"body": "hi"},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_logged_in"


def test_a_logged_out_visitor_gets_no_live_feed(dashboard: Dashboard) -> None:
    with dashboard.client.websocket_connect(dashboard.url("live")) as socket:
        socket.send_json({"csrf": "anything"})
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json()
    assert closed.value.code == 4401


def test_an_agent_cannot_reach_owner_pages(dashboard: Dashboard) -> None:
    dashboard.logged_in(AGENT)
    for page in OWNER_PAGES:
        response = dashboard.client.get(dashboard.url(page))
        assert response.status_code == 403, page
        assert "Owners only" in response.text
    token = csrf_of(dashboard.client.get(dashboard.url("inbox")).text)
    for form in OWNER_FORMS:
        response = dashboard.client.post(
            dashboard.url(form), data={"csrf_token": token, "password": "x"}
        )
        assert response.status_code == 403, form
    # ... and their links are not shown to them.
    inbox = dashboard.client.get(dashboard.url("inbox"))
    assert inbox.status_code == 200
    assert dashboard.url("identity") not in inbox.text


def test_an_agent_answers_conversations(dashboard: Dashboard) -> None:
    conversation_id, _ = dashboard.conversation("agent-user", "Can an agent help?")
    dashboard.logged_in(AGENT)
    thread = dashboard.client.get(dashboard.url(f"inbox/{conversation_id}"))
    assert thread.status_code == 200
    assert "Can an agent help?" in thread.text
    reply = dashboard.client.post(
        dashboard.url(f"inbox/{conversation_id}/reply"),
        data={"body": "Yes.", "csrf_token": csrf_of(thread.text)},
        headers={"Accept": "application/json"},
    )
    assert reply.status_code == 201, reply.text
    assert reply.json()["author"] == {"type": "operator", "name": "Aaron Agent"}


@pytest.mark.parametrize("token", [None, "", "forged", "other-session"])
def test_a_form_without_its_csrf_token_is_refused(dashboard: Dashboard, token: str | None) -> None:
    if token == "other-session":
        dashboard.logged_in(AGENT)
        token = csrf_of(dashboard.client.get(dashboard.url("inbox")).text)
    dashboard.logged_in()
    data = {"identity_mode": "off", "on_mismatch": "reject", "identifier": "user_id"}
    data["max_metadata_chars"] = "1000"
    if token is not None:
        data["csrf_token"] = token
    response = dashboard.client.post(dashboard.url("identity/policy"), data=data)
    assert response.status_code == 403
    assert "expired" in response.text
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    policy = dashboard.client.get(dashboard.url("identity")).text
    assert 'value="required" checked' in policy  # unchanged
    # The same goes for logging out (a forced logout is a CSRF nuisance too).
    response = dashboard.client.post("/dashboard/logout", data={}, follow_redirects=False)
    assert response.status_code == 403
    assert dashboard.client.get(dashboard.url("inbox")).status_code == 200  # still logged in


def test_the_login_form_needs_its_csrf_token_too(dashboard: Dashboard) -> None:
    dashboard.client.get("/dashboard/login")  # sets the pre-session cookie
    response = dashboard.client.post(
        "/dashboard/login",
        data={"email": "owner@example.com", "password": "correct horse battery staple"},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert SESSION_COOKIE not in response.cookies


def test_every_dashboard_response_carries_the_security_headers(dashboard: Dashboard) -> None:
    responses = [
        dashboard.client.get("/dashboard/login"),
        dashboard.client.get(dashboard.url("inbox"), follow_redirects=False),
        dashboard.client.get("/dashboard/static/dashboard.js"),
    ]
    dashboard.logged_in()
    responses += [dashboard.client.get(dashboard.url(page)) for page in ("inbox", *OWNER_PAGES)]
    responses.append(dashboard.client.get("/dashboard/apps/app_nope/inbox"))
    for response in responses:
        csp = response.headers["content-security-policy"]
        assert "default-src 'self'" in csp
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
    assert responses[-1].status_code == 404
    for response in responses[3:]:
        assert response.headers["cache-control"] == "no-store"
        # No inline script anywhere: every <script> has a src or is a JSON data block.
        for tag in response.text.split("<script")[1:]:
            assert tag.lstrip().startswith(("src=", 'type="application/json"')), tag[:80]
        assert " onclick=" not in response.text
        assert ' style="' not in response.text


def test_the_session_cookie_is_httponly_samesite_and_stored_hashed(dashboard: Dashboard) -> None:
    response = dashboard.login()
    cookie = next(
        header
        for header in response.headers.get_list("set-cookie")
        if header.startswith(SESSION_COOKIE)
    )
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Path=/dashboard" in cookie
    assert "Secure" not in cookie  # plain http: a Secure cookie would never come back
    token = response.cookies[SESSION_COOKIE]
    stored = dashboard.harness.backend.database.run_sync(
        lambda c: [row.id for row in c.execute(OperatorSession.__table__.select())]
    )
    assert token not in stored
    assert hashlib.sha256(token.encode()).hexdigest() in stored


def test_the_session_cookie_is_secure_over_https(dashboard: Dashboard) -> None:
    form = dashboard.client.get("https://testserver/dashboard/login")
    assert "Secure" in form.headers["set-cookie"]
    response = dashboard.client.post(
        "https://testserver/dashboard/login",
        data={
            "email": "owner@example.com",
            "password": "correct horse battery staple",
            "csrf_token": csrf_of(form.text),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    session = next(
        header
        for header in response.headers.get_list("set-cookie")
        if header.startswith(SESSION_COOKIE)
    )
    assert "Secure" in session


def test_logging_out_ends_the_session_on_the_server(dashboard: Dashboard) -> None:
    dashboard.logged_in()
    token = dashboard.client.cookies[SESSION_COOKIE]
    page = dashboard.client.get(dashboard.url("inbox"))
    response = dashboard.client.post(
        "/dashboard/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False
    )
    assert response.status_code == 303
    # Replaying the old cookie gets nothing: the server forgot the session.
    dashboard.client.cookies.set(SESSION_COOKIE, token, path="/dashboard")
    again = dashboard.client.get(dashboard.url("inbox"), follow_redirects=False)
    assert again.status_code == 303
    assert again.headers["location"].startswith("/dashboard/login")
