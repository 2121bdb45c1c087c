"""Typing and read receipts in headless Chromium (SPEC 11): the real widget on a
customer's page and the dashboard of a real ``countersign serve`` (the server, browser
and owner's page of :mod:`.test_browser`). Typing shows on the other side and goes
away; *Seen* shows once the other side read; a second device's badge comes from the
stored read position. ``COUNTERSIGN_UPDATE_SCREENSHOTS=1`` rewrites
``docs/typing-and-read-receipts.png``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from countersign import sign

from . import test_browser as shared
from .test_browser import STEP_TIMEOUT_MS, Server, screenshot

server = shared.server
owner = shared.owner
browser = shared.browser
dashboard_page = shared.dashboard_page

WIDGET = "#countersign-widget"
EXPIRED_MS = 9_000  # a typing signal lasts ~5 s on the receiving side


def _device(browser: Any, server: Server, app_id: str, user: str, secret: str) -> Any:
    """A browser context (a device) with the widget embedded and signed in. The page is
    the server's own (``/healthz``, with the tag added): Chromium keeps a page that is
    not on loopback from loading the loopback server's script."""
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    context.set_default_timeout(STEP_TIMEOUT_MS)
    page = context.new_page()
    page.goto(f"{server.url}/healthz")
    page.evaluate(
        """([base, appId, userId, userHash]) => {
          window.Countersign = function () { (Countersign.q = Countersign.q || []).push(arguments); };
          Countersign('boot', {app_id: appId, user_id: userId, user_hash: userHash, name: 'Grace'});
          const tag = document.createElement('script');
          tag.src = base + '/widget.js';
          tag.setAttribute('data-app-id', appId);
          document.body.appendChild(tag);
        }""",
        [server.url, app_id, user, sign(secret, user)],
    )
    expect(page.locator(WIDGET)).to_have_attribute("data-identity", "verified")
    return context, page


def test_typing_seen_and_the_badge_on_a_second_device(
    browser: Any, server: Server, dashboard_page: Any, tmp_path: Path
) -> None:
    created = server.new_app("Receipts Shop")
    inbox = f"{server.url}/dashboard/apps/{created.app.id}/inbox"
    page = dashboard_page
    page.goto(inbox)
    page.wait_for_selector("[data-live-state].on")

    laptop_context, laptop = _device(browser, server, created.app.id, "grace-1", created.secret)
    launcher = laptop.locator(f"{WIDGET} button.launch")
    launcher.click()
    laptop.get_by_role("button", name="New conversation").click()
    composer = laptop.get_by_role("textbox", name="Write a message")
    composer.fill("The export page is blank")
    composer.press("Enter")
    mine = laptop.locator(f"{WIDGET} .msg.me")
    expect(mine.locator(".st")).to_have_count(0)  # sent, and nobody has read it yet

    row = page.locator("li.conv", has_text="The export page is blank")
    row.wait_for()
    # The contact typing shows in the inbox list, then goes away by itself.
    composer.press_sequentially("It still")
    expect(row.locator("[data-field=typing]")).to_be_visible()
    expect(row.locator("[data-field=typing]")).to_be_hidden(timeout=EXPIRED_MS)

    # The operator opens the conversation: *Seen* under the contact's message.
    row.locator("a").click()
    page.wait_for_selector("#messages .msg.from-contact")
    expect(mine.locator(".seen")).to_have_text("Seen")

    # The contact typing shows in the open thread too.
    composer.press_sequentially(" fails")
    expect(page.locator("[data-typing]")).to_contain_text("is typing…")

    # The operator typing shows in the widget with their display name, then goes away.
    page.fill("#reply-body", "")
    page.locator("#reply-body").press_sequentially("Looking")
    typing = laptop.locator(f"{WIDGET} .typing")
    expect(typing).to_have_text("Olivia is typing…")
    screenshot(laptop, "typing-and-read-receipts.png", tmp_path)
    expect(typing).to_have_count(0, timeout=EXPIRED_MS)
    expect(page.locator("[data-typing]")).to_be_hidden(timeout=EXPIRED_MS)

    # The reply arrives in the open thread: the widget reads it, the dashboard says so.
    page.locator("#reply-body").press_sequentially(" into it now.")
    page.click("#reply button[type=submit]")
    reply = page.locator("#messages .msg.from-operator", has_text="into it now")
    expect(reply.locator("[data-seen]")).to_be_visible()

    # The laptop's panel closes; another reply comes. A phone opened later shows the
    # same unread badge, from the stored read position; reading on the laptop clears
    # the phone's badge live.
    launcher.click()
    page.fill("#reply-body", "Fixed, try again?")
    page.click("#reply button[type=submit]")
    expect(launcher.locator(".badge")).to_have_text("1")
    phone_context, phone = _device(browser, server, created.app.id, "grace-1", created.secret)
    phone_badge = phone.locator(f"{WIDGET} button.launch .badge")
    expect(phone_badge).to_have_text("1")
    launcher.click()
    laptop.get_by_role("button", name="New reply", exact=False).click()
    expect(laptop.locator(f"{WIDGET} .bubble", has_text="Fixed, try again?")).to_be_visible()
    expect(phone_badge).to_be_hidden()
    # A third device opened now agrees: nothing unread.
    tablet_context, tablet = _device(browser, server, created.app.id, "grace-1", created.secret)
    tablet.locator(f"{WIDGET} button.launch").click()
    listed = tablet.locator(f"{WIDGET} button.item", has_text="Fixed, try again?")
    expect(listed).to_have_class(re.compile(r"\bread\b"))  # no "New reply" dot
    expect(tablet.locator(f"{WIDGET} button.launch .badge")).to_be_hidden()
    for context in (laptop_context, phone_context, tablet_context):
        context.close()
