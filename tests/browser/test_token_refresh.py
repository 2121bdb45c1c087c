"""SPEC 15 in a real browser: the widget's ``refresh`` keeps a token-proven session
going through the token's expiry during an open conversation (before ``exp``, and
after the stream is refused for expiry), another user's token is a logout, and a
verified-only app shows nothing to a visitor it has not verified."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.sync_api import expect

from countersign import RingKey, Secret, issue_identity_token

from .conftest import DemoServer, HostPages, Tab, TestApp, no_page_errors


def _short_token(app: TestApp, user_id: str, seconds: int) -> str:
    key = RingKey(app.secret_id, Secret(app.secret), datetime.now(UTC))
    return issue_identity_token(
        key, user_id=user_id, claims={"aud": app.app_id}, expires_in=timedelta(seconds=seconds)
    )


def _wait(tab: Tab, condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition``, letting Playwright run the page's calls into Python meanwhile
    (a plain sleep would hold the exposed mintToken)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        tab.page.wait_for_timeout(200)


def _start_conversation(tab: Tab, text: str) -> None:
    tab.launcher.click()
    tab.page.get_by_role("button", name="New conversation").click()
    tab.page.keyboard.type(text)
    tab.page.keyboard.press("Enter")
    expect(tab.panel.locator(".bubble")).to_have_text([text])


def _stored_conversation(tab: Tab, app: TestApp, user_id: str) -> dict[str, Any]:
    """The user's one conversation once the server has it: the bubble shows before the
    send is answered, and a send near the token's exp waits for the refreshed session."""
    _wait(tab, lambda: len(app.conversations(user_id)) == 1, 20, "the conversation was not stored")
    (conversation,) = app.conversations(user_id)
    return conversation


def _boot_with_refresh(
    server: DemoServer, host_pages: HostPages, app: TestApp, tab: Tab, first: str
) -> str:
    return host_pages.embed(
        server,
        app.app_id,
        before=f"Countersign('boot', {{user_jwt: '{first}', refresh: () => window.mintToken()}});",
    )


def test_refresh_before_exp_keeps_the_open_conversation_and_stream(
    server: DemoServer, host_pages: HostPages, open_tab: Callable[[], Tab]
) -> None:
    app = server.create_app("Refresh before exp")
    minted: list[str] = []

    def mint() -> str:
        minted.append(token := _short_token(app, "ada", 30))
        return token

    tab = open_tab()
    tab.page.expose_function("mintToken", mint)
    tab.page.goto(_boot_with_refresh(server, host_pages, app, tab, _short_token(app, "ada", 10)))
    tab.expect_identity("verified")
    _start_conversation(tab, "Before the token expires")
    conversation = _stored_conversation(tab, app, "ada")

    # 10 s token: refreshed about 5 s before exp; then wait past the first exp.
    _wait(tab, lambda: len(minted) >= 1, 15, "refresh was not called")
    tab.page.wait_for_timeout(8000)
    app.reply(conversation["id"], "An answer after the first token expired")
    expect(tab.panel.locator(".bubble")).to_have_text(
        ["Before the token expires", "An answer after the first token expired"]
    )
    tab.page.keyboard.type("And my reply")
    tab.page.keyboard.press("Enter")
    _wait(tab, lambda: len(app.messages(conversation["id"])) == 3, 10, "the reply did not arrive")
    assert len(app.conversations("ada")) == 1
    tab.expect_identity("verified")
    assert [w for w in tab.warnings() if "refresh" in w] == []
    no_page_errors(tab)


def test_after_the_stream_is_refused_for_expiry_refresh_brings_it_back(
    server: DemoServer, host_pages: HostPages, open_tab: Callable[[], Tab]
) -> None:
    app = server.create_app("Refresh after expiry")
    calls: list[int] = []

    def mint() -> str:
        calls.append(1)
        if len(calls) == 1:  # the page's token endpoint is down the first time
            raise RuntimeError("token endpoint unavailable")
        return _short_token(app, "bea", 120)

    tab = open_tab()
    tab.page.expose_function("mintToken", mint)
    tab.page.goto(_boot_with_refresh(server, host_pages, app, tab, _short_token(app, "bea", 7)))
    tab.expect_identity("verified")
    _start_conversation(tab, "Hello from Bea")
    conversation = _stored_conversation(tab, app, "bea")
    _wait(tab, lambda: len(calls) >= 1, 10, "refresh was not called before exp")
    # The session ends at exp; the stream is cut with 4401 at the next sweep (15 s),
    # and the widget asks for a token again.
    _wait(tab, lambda: len(calls) >= 2, 30, "refresh was not called after the expiry")
    app.reply(conversation["id"], "Back again")
    expect(tab.panel.locator(".bubble")).to_have_text(["Hello from Bea", "Back again"])
    tab.expect_identity("verified")
    assert any("refresh failed" in w for w in tab.warnings())


def test_a_token_for_another_user_is_a_logout(
    server: DemoServer, host_pages: HostPages, open_tab: Callable[[], Tab]
) -> None:
    app = server.create_app("Refresh to another user")
    tab = open_tab()
    # The page's refresh gives Dan's token again until Dan's conversation is stored:
    # under CI's load an 8 s token could run out, and the widget turn into Cleo's,
    # before the test had even clicked "New conversation".
    handed_over = {"to_cleo": False}

    def mint() -> str:
        if handed_over["to_cleo"]:
            return _short_token(app, "cleo", 300)
        return _short_token(app, "dan", 8)

    tab.page.expose_function("mintToken", mint)
    tab.page.goto(_boot_with_refresh(server, host_pages, app, tab, _short_token(app, "dan", 8)))
    tab.expect_identity("verified")
    _start_conversation(tab, "Dan's private question")
    handed_over["to_cleo"] = True
    expect(tab.page.locator("#countersign-widget")).to_have_attribute("data-identity", "verified")
    _wait(
        tab,
        lambda: tab.page.evaluate("() => identities.some((w) => w.user_id === 'cleo')"),
        15,
        "the widget did not become cleo",
    )
    expect(tab.panel).to_contain_text("No conversations yet")
    assert "Dan's private question" not in tab.panel.inner_text()
    # Nor anywhere in the widget's page, hidden views included.
    shadow = "() => document.querySelector('#countersign-widget').shadowRoot.innerHTML"
    assert "Dan's private question" not in tab.page.evaluate(shadow)
    assert app.conversations("cleo") == []


def test_a_verified_only_app_shows_nothing_to_an_anonymous_visitor(
    server: DemoServer, host_pages: HostPages, open_tab: Callable[[], Tab]
) -> None:
    app = server.create_app("Verified only", allow_anonymous=False)
    anonymous = host_pages.embed(server, app.app_id)
    tab = open_tab()
    tab.page.goto(anonymous)
    tab.launcher.click()  # a first visit: the widget learns the app's rule from identify
    expect(tab.launcher).to_be_hidden()
    expect(tab.panel).to_be_hidden()
    assert tab.page.evaluate("() => refusals.length") == 0  # nothing claimed, nothing refused
    tab.page.reload()
    tab.page.wait_for_timeout(1000)
    expect(tab.launcher).to_be_hidden()  # remembered: no launcher flashes on the next page
    signed_in = host_pages.embed(
        server, app.app_id, before=f"Countersign('boot', {{user_jwt: '{app.jwt('eve')}'}});"
    )
    tab.page.goto(signed_in)
    tab.expect_identity("verified")
    expect(tab.launcher).to_be_visible()
