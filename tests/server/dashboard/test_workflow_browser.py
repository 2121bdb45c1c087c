"""The inbox's workflow in headless Chromium against a real ``countersign serve`` (the
server, browser and owner's page of :mod:`.test_browser`): views with live counts,
take / note / snooze / resolve / reopen from the keyboard, another operator's page
following each change without a reload, the search box, and the note never reaching
the visitor's browser. ``COUNTERSIGN_UPDATE_SCREENSHOTS=1`` rewrites
``docs/dashboard-workflow.png``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from countersign import sign

from . import test_browser as shared
from .test_browser import DOCS, STEP_TIMEOUT_MS, WIDGET_JS, Server, screenshot

server = shared.server
owner = shared.owner
browser = shared.browser
dashboard_page = shared.dashboard_page

COLLEAGUE = "carl@example.com"
COLLEAGUE_PASSWORD = "carl's long enough passphrase"
NOTE = "note-only-for-the-team-4b1d"


def _tab_to(page: Any, selector: str, limit: int = 60) -> None:
    """Press Tab until ``selector`` has the focus: it is reachable by keyboard."""
    page.focus("body")
    for _ in range(limit):
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} is not reachable with Tab")


def _colleague(browser: Any, server: Server) -> tuple[Any, Any]:
    """A second operator (an agent), logged in in a browser context of their own."""
    server.cli(
        "operators", "create", COLLEAGUE, "--password-stdin", "--role", "agent",
        "--name", "Carl", stdin=COLLEAGUE_PASSWORD + "\n",
    )  # fmt: skip
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(STEP_TIMEOUT_MS)
    page = context.new_page()
    page.goto(f"{server.url}/dashboard")
    page.fill("input[name=email]", COLLEAGUE)
    page.fill("input[name=password]", COLLEAGUE_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector(".me .who >> text=Carl")
    return context, page


def test_take_note_snooze_resolve_reopen_live_on_another_page(
    browser: Any, server: Server, dashboard_page: Any, tmp_path: Path
) -> None:
    created = server.new_app("Workflow Shop")
    inbox = f"{server.url}/dashboard/apps/{created.app.id}/inbox"
    widget_context = browser.new_context()
    widget = widget_context.new_page()
    widget.goto(f"{server.url}/healthz")
    user = "workflow-user-1"
    conversation_id = widget.evaluate(
        WIDGET_JS, [server.url, created.app.id, user, sign(created.secret, user), "Broken order"]
    )
    row = f'li.conv[data-conversation-id="{conversation_id}"]'

    # Carl watches Unassigned; the owner works the conversation.
    carl_context, carl = _colleague(browser, server)
    carl.goto(f"{inbox}?view=unassigned")
    carl.wait_for_selector("[data-live-state].on")
    assert carl.locator(row).count() == 1
    assert carl.locator('[data-count="unassigned"]').inner_text() == "1"

    page = dashboard_page
    page.goto(f"{inbox}?view=unassigned")
    page.locator(f"{row} a").click()
    page.wait_for_selector("[data-workflow-state] >> text=unassigned")
    _tab_to(page, "form.take button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-workflow-state] >> text=assigned to Olivia")
    # Carl's page follows without a reload: the row leaves Unassigned, the count drops.
    carl.wait_for_selector(row, state="detached")
    carl.wait_for_function(
        """() => document.querySelector('[data-count="unassigned"]').textContent === "0" """
    )

    # A private note, by keyboard: marked as a note in the thread, never in the widget.
    _tab_to(page, "#note-body")
    page.keyboard.type(NOTE)
    _tab_to(page, "#note-form button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#messages .msg.from-note >> text={NOTE}")
    assert "private note" in page.locator("#messages .msg.from-note").inner_text().lower()
    page.reload()
    page.wait_for_selector(f"#messages .msg.from-note >> text={NOTE}")

    # Snooze for an hour: the thread says so; Carl's Snoozed count goes up live.
    carl.goto(f"{inbox}?view=snoozed")
    carl.wait_for_selector("[data-live-state].on")
    page.select_option("#snooze-until", "1h")
    page.click("form.snooze button[type=submit]")
    page.wait_for_selector("[data-workflow-state] >> text=Snoozed")
    carl.wait_for_selector(row)
    assert carl.locator('[data-count="snoozed"]').inner_text() == "1"
    screenshot(page, "dashboard-workflow.png", tmp_path)

    # Resolve, then reopen, by keyboard.
    _tab_to(page, "form.resolve button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-workflow-state] >> text=Resolved")
    carl.wait_for_selector(row, state="detached")
    _tab_to(page, "form.reopen button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-workflow-state] >> text=Open")

    # Resolved again, the visitor writes: it comes back, live, on the owner's page.
    page.click("form.resolve button[type=submit]")
    page.wait_for_selector("[data-workflow-state] >> text=Resolved")
    widget.evaluate("([id]) => window.say(id, 'Any news?')", [conversation_id])
    page.wait_for_selector("[data-workflow-state] >> text=Open")
    page.wait_for_selector("#messages .msg.from-contact >> text=Any news?")

    # The visitor heard every change and never the note.
    widget.wait_for_function(
        """() => window.received.filter((e) => e.type === "conversation.updated").length >= 6"""
    )
    received = widget.evaluate("JSON.stringify(window.received)")
    assert NOTE not in received
    assert "owner@example.com" not in received
    widget_context.close()

    # The search box, by keyboard: a label, Enter submits.
    page.goto(f"{inbox}?view=open")
    page.get_by_label("Search by contact").fill("WORKFLOW-user")
    page.keyboard.press("Enter")
    page.wait_for_url("**q=WORKFLOW-user**")
    assert page.locator(row).count() == 1
    page.get_by_label("Search by contact").fill("nobody-at-all")
    page.keyboard.press("Enter")
    page.wait_for_url("**q=nobody-at-all**")
    assert page.locator(row).count() == 0
    carl_context.close()


def test_the_workflow_screenshot_exists() -> None:
    assert (DOCS / "dashboard-workflow.png").is_file(), (
        "run with COUNTERSIGN_UPDATE_SCREENSHOTS=1 to make dashboard-workflow.png"
    )
