"""The Team and Contacts pages in headless Chromium against a real ``countersign serve``
(the server, browser and owner of :mod:`.test_browser`).

What a person does: the owner adds an agent with the keyboard alone, the one-time link
is opened in a second browser context, the agent chooses a password, logs in,
answers a user under their display name and takes the conversation, which is then
theirs under *Mine*; the agent's own posts to the Team actions
are refused; deactivation ends the agent's open session at once. Then the Contacts
page lists, searches and opens a contact's history. ``COUNTERSIGN_UPDATE_SCREENSHOTS=1``
rewrites ``docs/dashboard-team.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from countersign import sign

from . import test_browser as shared
from .test_browser import DOCS, STEP_TIMEOUT_MS, WIDGET_JS, Server, screenshot

# The real server, the browser and the logged-in owner's page of test_browser.py, one
# of each for this module too.
server = shared.server
owner = shared.owner
browser = shared.browser
dashboard_page = shared.dashboard_page

AGENT_EMAIL = "nina@example.com"
AGENT_PASSWORD = "nina's own long passphrase"

# An agent's page posting to each Team action with its own, valid CSRF token.
AGENT_POSTS_JS = """
async ([paths]) => {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const statuses = [];
  for (const path of paths) {
    const response = await fetch(path, {
      method: "POST",
      headers: {"X-CSRF-Token": csrf, "Accept": "application/json",
                "Content-Type": "application/x-www-form-urlencoded"},
      body: new URLSearchParams({email: "eve@example.com", name: "Eve", role: "owner"}),
    });
    statuses.push(response.status);
  }
  return statuses;
}
"""


def _tab_to(page: Any, selector: str, limit: int = 40) -> None:
    """Press Tab until ``selector`` has the focus: it is reachable by keyboard."""
    for _ in range(limit):
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} is not reachable with Tab")


def _agent_context(browser: Any) -> tuple[Any, Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(STEP_TIMEOUT_MS)
    return context, context.new_page()


def test_an_owner_adds_an_agent_who_joins_answers_and_is_deactivated(
    browser: Any, server: Server, dashboard_page: Any, tmp_path: Path
) -> None:
    created = server.new_app("Team Shop")
    page = dashboard_page
    page.goto(f"{server.url}/dashboard/apps/{created.app.id}/inbox")
    page.click("a.team-link")
    page.wait_for_selector("h1 >> text=Team")

    # The whole form by keyboard: Tab to each field in order, type, Enter.
    page.focus("body")
    _tab_to(page, "#add-email")
    page.keyboard.type(AGENT_EMAIL)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "add-name"
    page.keyboard.type("Nina")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.value") == "agent"  # the checked radio
    _tab_to(page, "form.add-operator button[type=submit]")
    page.keyboard.press("Enter")
    link = page.locator("[data-link-value]").inner_text().strip()
    assert link.startswith(f"{server.url}/dashboard/join/csi_")
    row = page.locator(f'tr[data-state="invited"]:has-text("{AGENT_EMAIL}")')
    assert row.count() == 1
    screenshot(page, "dashboard-team.png", tmp_path, full_page=True)

    # The agent opens the link in a browser of their own and chooses a password.
    agent_context, agent = _agent_context(browser)
    agent.goto(link)
    agent.fill("input[name=password]", AGENT_PASSWORD)
    agent.fill("input[name=confirm]", AGENT_PASSWORD)
    agent.click("button[type=submit]")
    agent.wait_for_selector(".me .who >> text=Nina")
    assert agent.locator("a.team-link").count() == 0  # agents have no Team page
    # The link is spent: opened again it says so.
    again = agent_context.new_page()
    response = again.goto(link)
    assert response is not None
    assert response.status == 410
    assert "has been used" in again.inner_text("h1")
    again.close()

    # They log out and in with the new password, and see the app's inbox.
    agent.click(".me button.link")
    agent.fill("input[name=email]", AGENT_EMAIL)
    agent.fill("input[name=password]", AGENT_PASSWORD)
    agent.click("button[type=submit]")
    agent.wait_for_selector(".me .who >> text=Nina")
    agent.goto(f"{server.url}/dashboard/apps/{created.app.id}/inbox")
    agent.wait_for_selector("[data-live-state].on")

    # A verified user writes; the agent answers; the widget shows "Nina", no email.
    widget_context = browser.new_context()
    widget = widget_context.new_page()
    widget.goto(f"{server.url}/healthz")
    user = "team-user-1"
    conversation_id = widget.evaluate(
        WIDGET_JS, [server.url, created.app.id, user, sign(created.secret, user), "Help please"]
    )
    agent.locator(f'li.conv[data-conversation-id="{conversation_id}"] a').click()
    agent.fill("#reply-body", "Nina here, looking now.")
    agent.click("#reply button[type=submit]")
    widget.wait_for_function(
        """() => window.received.some((e) => e.type === "message.created"
            && e.data.author.type === "operator" && e.data.author.name === "Nina")""",
        timeout=STEP_TIMEOUT_MS,
    )
    received = widget.evaluate("JSON.stringify(window.received)")
    assert AGENT_EMAIL not in received
    widget_context.close()

    # Nina takes it (by keyboard), and it is hers: under Mine, no longer Unassigned.
    agent.focus("body")
    _tab_to(agent, "form.take button[type=submit]")
    agent.keyboard.press("Enter")
    agent.wait_for_selector("[data-workflow-state] >> text=assigned to Nina")
    agent.goto(f"{server.url}/dashboard/apps/{created.app.id}/inbox?view=mine")
    assert agent.locator(f'li.conv[data-conversation-id="{conversation_id}"]').count() == 1
    assert agent.locator('[data-count="mine"]').inner_text() == "1"
    agent.goto(f"{server.url}/dashboard/apps/{created.app.id}/inbox?view=unassigned")
    assert agent.locator(f'li.conv[data-conversation-id="{conversation_id}"]').count() == 0

    # The agent's posts to every Team action are refused, with a valid CSRF token.
    nina_id = row.get_attribute("data-operator-id")
    paths = [
        "/dashboard/team/invite",
        f"/dashboard/team/{nina_id}",
        f"/dashboard/team/{nina_id}/link",
        f"/dashboard/team/{nina_id}/deactivate",
        f"/dashboard/team/{nina_id}/reactivate",
    ]
    assert agent.evaluate(AGENT_POSTS_JS, [paths]) == [403] * len(paths)
    assert agent.goto(f"{server.url}/dashboard/team").status == 403  # type: ignore[union-attr]
    agent.goto(f"{server.url}/dashboard/apps/{created.app.id}/inbox/{conversation_id}")
    agent.wait_for_selector("#reply-body")

    # The owner deactivates Nina; her open page is logged out at its next step.
    page.goto(f"{server.url}/dashboard/team")
    nina = page.locator(f'tr[data-operator-id="{nina_id}"]')
    page.once("dialog", lambda dialog: dialog.accept())
    nina.locator("button.danger").click()
    page.wait_for_selector(".notice >> text=Deactivated")
    assert page.locator(f'tr[data-operator-id="{nina_id}"][data-state="deactivated"]').count() == 1
    status = agent.evaluate(
        """async () => (await fetch(document.getElementById("reply").action, {
            method: "POST", credentials: "same-origin",
            headers: {"X-CSRF-Token": document.querySelector('meta[name="csrf-token"]').content,
                      "Accept": "application/json"},
            body: new URLSearchParams({body: "still here?"})})).status"""
    )
    assert status == 401
    agent.reload()
    agent.wait_for_selector("h1 >> text=Log in")
    agent.fill("input[name=email]", AGENT_EMAIL)
    agent.fill("input[name=password]", AGENT_PASSWORD)
    agent.click("button[type=submit]")
    agent.wait_for_selector(".problem")
    agent_context.close()


def test_the_contacts_page_lists_searches_and_opens_a_history(
    browser: Any, server: Server, dashboard_page: Any
) -> None:
    created = server.new_app("Contacts Shop")
    widget_context = browser.new_context()
    widget = widget_context.new_page()
    widget.goto(f"{server.url}/healthz")
    conversation_ids = {
        user: widget.evaluate(
            WIDGET_JS, [server.url, created.app.id, user, sign(created.secret, user), body]
        )
        for user, body in (("ada-lovelace", "About my order"), ("grace-hopper", "Billing"))
    }
    widget_context.close()

    page = dashboard_page
    page.goto(f"{server.url}/dashboard/apps/{created.app.id}/inbox")
    page.click("nav.tabs >> text=Contacts")
    page.wait_for_selector("table.contacts")
    assert page.locator("table.contacts tbody tr[data-contact-id]").count() == 2
    assert page.locator("table.contacts .badge-verified").count() == 2

    # Search by keyboard: the box has a label, Enter submits.
    page.get_by_label("Search by user id, email, name or metadata").fill("GRACE")
    page.keyboard.press("Enter")
    page.wait_for_url("**/contacts?q=GRACE")
    rows = page.locator("table.contacts tbody tr[data-contact-id]")
    assert rows.count() == 1
    assert "grace-hopper" in rows.inner_text()

    rows.locator("a").click()
    page.wait_for_selector("h1 .badge-verified")
    conversation = page.locator(
        f'#conversations li[data-conversation-id="{conversation_ids["grace-hopper"]}"]'
    )
    assert conversation.count() == 1
    assert page.locator(f'[data-conversation-id="{conversation_ids["ada-lovelace"]}"]').count() == 0
    conversation.locator("a").click()
    page.wait_for_selector("#messages .msg.from-contact >> text=Billing")


def test_the_team_screenshot_exists() -> None:
    assert (DOCS / "dashboard-team.png").is_file(), (
        "run with COUNTERSIGN_UPDATE_SCREENSHOTS=1 to make dashboard-team.png"
    )
