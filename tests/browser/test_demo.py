"""``countersign serve --demo``: the page a new user opens first, in a real browser."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import expect

from countersign.demo import DEMO_USER, OTHER_USER

from .conftest import WIDGET, DemoServer, Tab, no_page_errors


def test_demo_flow_verifies_sends_and_updates_live(
    server: DemoServer, open_tab: Callable[[], Tab], tmp_path: Path
) -> None:
    demo = server.demo_app()
    tab = open_tab()
    page = tab.page
    page.goto(server.url + "/demo")

    # Identified as the demo user, with the hash the server computed for this page.
    tab.expect_identity("verified")
    expect(page.locator("#status")).to_have_text(
        f"Widget: verified as {DEMO_USER.user_id} ({DEMO_USER.name})"
    )
    expect(tab.launcher).to_have_attribute("aria-expanded", "false")
    tab.launcher.click()
    expect(tab.panel).to_be_visible()
    expect(tab.launcher).to_have_attribute("aria-expanded", "true")
    expect(tab.panel).to_contain_text(f"Signed in as {DEMO_USER.name}")
    expect(tab.panel).to_contain_text("Welcome to the Countersign demo!")

    # A new conversation: the message shows at once and is then confirmed.
    page.get_by_role("button", name="New conversation").click()
    composer = page.get_by_role("textbox", name="Write a message")
    expect(composer).to_be_focused()
    composer.fill("My export is stuck at 90%")
    composer.press("Enter")
    mine = page.locator(f"{WIDGET} .msg.me")
    expect(mine).to_have_count(1)
    expect(mine.locator(".bubble")).to_have_text("My export is stuck at 90%")
    expect(mine.locator(".st")).to_have_count(0)  # no longer "Sending…"

    # The backend sees it, with the widget's idempotency key, and replies live.
    conversation = demo.conversations(DEMO_USER.user_id)[0]
    (sent,) = demo.messages(conversation["id"])
    assert sent["body"] == "My export is stuck at 90%"
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", sent["client_id"]
    )
    demo.reply(conversation["id"], "Fixed. Try the export again now.", name="Grace")
    theirs = page.locator(f"{WIDGET} .msg:not(.me)")
    expect(theirs.locator(".bubble")).to_have_text("Fixed. Try the export again now.")
    expect(theirs.locator(".by")).to_have_text("Grace")

    # The page's own "support team" button posts through the same path.
    page.locator("#reply").click()
    expect(theirs).to_have_count(2)

    # Notifications: the unread count goes up live, and down when one is read.
    badge = tab.bell.locator(".badge")
    expect(badge).to_be_hidden()
    demo.notify(DEMO_USER.user_id, "Your export is ready", "analytics.csv, 2 MB")
    demo.notify(DEMO_USER.user_id, "New comment on Weekly report")
    expect(badge).to_have_text("2")
    expect(tab.bell).to_have_attribute("aria-label", "Notifications, 2 unread")
    tab.bell.click()
    expect(tab.panel.get_by_role("heading")).to_have_text("Notifications")
    # Opening the list clears the bell's badge (seen) and reads nothing.
    expect(badge).to_be_hidden()
    expect(tab.bell).to_have_attribute("aria-label", "Notifications, 2 unread")
    page.get_by_role("button", name=re.compile(r"^Unread\. Your export is ready")).click()
    expect(tab.bell).to_have_attribute("aria-label", "Notifications, 1 unread")
    page.reload()  # the read and seen states are the server's, not the page's
    expect(tab.bell).to_have_attribute("aria-label", "Notifications, 1 unread")
    expect(badge).to_be_hidden()

    # A screenshot of the open widget (scripts/screenshot_widget.py makes docs/widget.png).
    tab.launcher.click()
    page.get_by_role("button", name=re.compile(r"^Grace from Support: ")).click()
    expect(tab.panel).to_contain_text("Fixed. Try the export again now.")
    shot = page.screenshot(path=tmp_path / "widget.png")
    assert shot.startswith(b"\x89PNG\r\n\x1a\n")

    # Escape closes and hands focus back to the launcher.
    page.keyboard.press("Escape")
    expect(tab.panel).to_be_hidden()
    expect(tab.launcher).to_be_focused()
    no_page_errors(tab)


def test_demo_impersonation_page_shows_the_refusal(
    server: DemoServer, open_tab: Callable[[], Tab]
) -> None:
    tab = open_tab()
    page = tab.page
    page.goto(server.url + "/demo?impersonate=1")

    expect(page.locator("#refusal")).to_have_text(
        "Refused: identity_verification_failed (HTTP 401). The widget stayed anonymous."
    )
    tab.expect_identity("anonymous")
    (warning,) = tab.warnings()
    assert "identify refused: identity_verification_failed" in warning
    assert "docs/widget.md#when-identify-is-refused" in warning

    # The other user has history (seeded), and none of it reaches this browser.
    tab.launcher.click()
    expect(tab.panel).to_contain_text("No conversations yet")
    expect(tab.bell).to_be_hidden()
    assert "INV-2041" not in page.content()
    assert OTHER_USER.name not in tab.panel.inner_text()
    no_page_errors(tab)


def test_widget_script_is_cached(server: DemoServer, open_tab: Callable[[], Tab]) -> None:
    tab = open_tab()
    response = tab.page.goto(server.url + "/widget.js")
    assert response is not None
    headers = response.headers
    assert headers["content-type"] == "application/javascript; charset=utf-8"
    assert headers["cache-control"] == "public, max-age=300"
    assert re.fullmatch(r'"[0-9a-f]{32}"', headers["etag"])
