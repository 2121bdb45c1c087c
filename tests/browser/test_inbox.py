"""The notification inbox in a real browser (SPEC 13): category tabs with unread counts,
Unread / All / Archived, mark all read, archive with undo, action buttons, the
preferences screen, the bell's unseen badge and the toast; and the issue's "done when":
an invoice on one user's phone and laptop, a status notice to a thousand users, the
status category muted, the invoice archived on the phone and gone from the laptop."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from countersign.storage import notification_settings
from countersign.storage.notification_settings import Category

from .conftest import WIDGET, DemoServer, HostPages, Tab, TestApp, no_page_errors

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture(scope="module")
def app(server: DemoServer) -> TestApp:
    made = server.create_app("Inbox tests")
    server.backend.database.run_sync(
        lambda c: notification_settings.put_category(
            c, made.app_id, Category("billing", "Billing", True, True)
        )
    )
    return made


def device(
    open_tab: Callable[[], Tab],
    server: DemoServer,
    host_pages: HostPages,
    app: TestApp,
    user: str,
    boot: str = "",
) -> Tab:
    url = host_pages.embed(
        server,
        app.app_id,
        before=f"Countersign('boot', {{app_id: '{app.app_id}', user_id: '{user}', "
        f"user_hash: '{app.sign(user)}'{boot}}});",
    )
    tab = open_tab()
    tab.page.goto(url)
    tab.expect_identity("verified")
    return tab


def note(page: Page, title: str) -> object:
    return page.locator(f"{WIDGET} li.note", has_text=title)


def test_tabs_archive_with_undo_mark_all_read_actions_and_preferences(
    server: DemoServer,
    host_pages: HostPages,
    app: TestApp,
    open_tab: Callable[[], Tab],
) -> None:
    laptop = device(open_tab, server, host_pages, app, "ines")
    phone = device(open_tab, server, host_pages, app, "ines")
    app.call(
        "POST",
        "/v1/notifications",
        {
            "user_id": "ines",
            "title": "Invoice ready",
            "body": "INV-2041, $1,250 due on the 15th",
            "category": "billing",
            "actions": [
                {"label": "Pay", "url": "https://billing.example/pay/INV-2041"},
                {"label": "View invoice", "url": "https://billing.example/INV-2041"},
            ],
        },
    )
    users = ["ines", *(f"user-{i}" for i in range(999))]
    sent = app.call(
        "POST",
        "/v1/notifications",
        {
            "user_ids": users,
            "title": "Maintenance tonight",
            "body": "22:00-23:00 UTC",
            "category": "status",
        },
    )
    assert len(sent["data"]) == 1_000

    # The bell shows what is new; a toast tells the open page.
    for tab in (laptop, phone):
        expect(tab.bell.locator(".badge")).to_have_text("2")
        expect(tab.page.locator(f"{WIDGET} .toast")).to_contain_text("Maintenance tonight")
    page = laptop.page
    laptop.bell.click()
    expect(laptop.bell.locator(".badge")).to_be_hidden()  # seen, not read
    expect(laptop.bell).to_have_attribute("aria-label", "Notifications, 2 unread")
    expect(phone.bell.locator(".badge")).to_be_hidden()  # the other device agrees, live

    # Category tabs with their unread counts.
    chips = page.locator(f"{WIDGET} .chip")
    expect(page.get_by_role("button", name="All, 2 unread")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(page.get_by_role("button", name="Billing, 1 unread")).to_be_visible()
    expect(page.get_by_role("button", name="Status, 1 unread")).to_be_visible()
    expect(chips).to_have_count(4)  # All, Billing, General, Status
    page.get_by_role("button", name="Billing, 1 unread").click()
    expect(page.locator(f"{WIDGET} li.note")).to_have_count(1)
    invoice = page.locator(f"{WIDGET} li.note", has_text="Invoice ready")
    # Action buttons: links to the backend's URLs, opened in a new tab.
    pay = invoice.get_by_role("link", name="Pay")
    expect(pay).to_have_attribute("href", "https://billing.example/pay/INV-2041")
    expect(pay).to_have_attribute("target", "_blank")
    expect(invoice.get_by_role("link", name="View invoice")).to_be_visible()
    page.screenshot(path=str(DOCS / "notification-inbox.png"), clip=_panel_box(page))
    page.get_by_role("button", name=re.compile(r"^All, ")).click()
    expect(page.locator(f"{WIDGET} li.note")).to_have_count(2)

    # The user mutes "status" on the preferences screen; the next status notice skips them.
    page.get_by_role("button", name="Preferences").click()
    status_in_app = page.get_by_role("checkbox", name="Status: In-app")
    expect(status_in_app).to_be_checked()
    expect(page.get_by_role("checkbox", name="Billing: Email")).to_be_checked()  # app default
    status_in_app.uncheck()
    expect(status_in_app).not_to_be_checked()
    muted = app.call(
        "POST",
        "/v1/notifications",
        {"user_ids": ["ines", "user-1"], "title": "Still down", "category": "status"},
    )
    assert muted["muted"] == ["ines"]
    assert app.call("GET", "/v1/preferences/ines")["categories"]["status"]["in_app"] is False
    page.get_by_role("button", name="Preferences").click()  # back to the list

    # Archive on the phone, with undo; gone from the laptop at once.
    phone.bell.click()
    phone_invoice = note(phone.page, "Invoice ready")
    phone.page.get_by_role("button", name="Archive Invoice ready").click()
    expect(phone_invoice).to_have_count(0)  # type: ignore[attr-defined]
    expect(note(page, "Invoice ready")).to_have_count(0)  # type: ignore[attr-defined]
    phone.page.get_by_role("button", name="Undo").click()
    expect(phone_invoice).to_have_count(1)  # type: ignore[attr-defined]
    expect(note(page, "Invoice ready")).to_have_count(1)  # type: ignore[attr-defined]
    phone.page.get_by_role("button", name="Archive Invoice ready").click()
    expect(note(page, "Invoice ready")).to_have_count(0)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Archived").click()
    expect(note(page, "Invoice ready")).to_have_count(1)  # type: ignore[attr-defined]
    page.get_by_role("button", name="All", exact=True).click()

    # Mark all read: the counts go to zero on both devices.
    expect(laptop.bell).to_have_attribute("aria-label", "Notifications, 1 unread")
    page.get_by_role("button", name="Mark all read").click()
    expect(laptop.bell).to_have_attribute("aria-label", "Notifications, 0 unread")
    expect(phone.bell).to_have_attribute("aria-label", "Notifications, 0 unread")
    expect(page.locator(f"{WIDGET} li.note.read")).to_have_count(1)
    page.get_by_role("button", name="Unread", exact=True).click()
    expect(page.locator(f"{WIDGET} li.note")).to_have_count(0)
    for tab in (laptop, phone):
        no_page_errors(tab)


def test_the_toast_can_be_turned_off_in_boot(
    server: DemoServer, host_pages: HostPages, app: TestApp, open_tab: Callable[[], Tab]
) -> None:
    quiet = device(open_tab, server, host_pages, app, "quiet", boot=", notification_toasts: false")
    app.notify("quiet", "Shh")
    expect(quiet.bell.locator(".badge")).to_have_text("1")
    expect(quiet.page.locator(f"{WIDGET} .toast")).to_be_hidden()
    # notification_toasts is a setting, not user metadata.
    assert "notification_toasts" not in str(app.call("GET", "/v1/users/quiet/notifications"))
    no_page_errors(quiet)


def _panel_box(page: Page) -> dict[str, float]:
    box = page.locator(f"{WIDGET} #cs-panel").bounding_box()
    assert box is not None
    return {
        "x": box["x"] - 8,
        "y": box["y"] - 8,
        "width": box["width"] + 16,
        "height": box["height"] + 16,
    }
