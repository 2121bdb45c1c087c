"""Attachments in headless Chromium (SPEC 11): the real widget on a page and the
dashboard of a real ``countersign serve`` (the fixtures of :mod:`.test_browser`). A
user attaches an image by the paperclip and by paste, sees the thumbnail (fetched with
the session header, shown from a blob: URL), and the operator sees it inline in the
thread. ``COUNTERSIGN_UPDATE_SCREENSHOTS=1`` rewrites ``docs/attachments.png``."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path
from typing import Any

from PIL import Image
from playwright.sync_api import expect

from . import test_browser as shared
from .test_browser import Server, screenshot
from .test_receipts_browser import EXPIRED_MS, WIDGET, _device

server = shared.server
owner = shared.owner
browser = shared.browser
dashboard_page = shared.dashboard_page


def _png(color: tuple[int, int, int], size: tuple[int, int] = (320, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


PASTE = """([selector, data]) => {
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], "Screenshot.png", {type: "image/png"}));
  const input = document.querySelector(selector).shadowRoot.querySelector("textarea");
  input.dispatchEvent(new ClipboardEvent("paste", {clipboardData: transfer, bubbles: true, cancelable: true}));
}"""

LOADED = "(image) => image.complete && image.naturalWidth > 0 && image.src.startsWith('blob:')"


def _paste(page: Any, png: bytes) -> None:
    page.evaluate(PASTE, [WIDGET, base64.b64encode(png).decode()])


def test_attach_by_button_and_paste_and_the_operator_sees_it(
    browser: Any, server: Server, dashboard_page: Any, tmp_path: Path
) -> None:
    created = server.new_app("Files Shop")
    page = dashboard_page
    page.goto(f"{server.url}/dashboard/apps/{created.app.id}/inbox")
    page.wait_for_selector("[data-live-state].on")
    context, widget = _device(browser, server, created.app.id, "grace-9", created.secret)
    widget.locator(f"{WIDGET} button.launch").click()
    widget.get_by_role("button", name="New conversation").click()

    # By the paperclip: the file input behind it.
    picture = tmp_path / "error.png"
    picture.write_bytes(_png((220, 40, 40)))
    widget.locator(f"{WIDGET} input[type=file]").set_input_files(str(picture))
    expect(widget.locator(f"{WIDGET} .pf")).to_have_text(re.compile("error.png"))
    composer = widget.get_by_role("textbox", name="Write a message")
    composer.fill("This is what I see")
    expect(widget.locator(f"{WIDGET} .pf span")).to_have_text("error.png")  # uploaded
    composer.press("Enter")
    thumb = widget.locator(f"{WIDGET} .msg.me img.thumb").first
    expect(thumb).to_be_visible()
    widget.wait_for_function(
        f"() => ({LOADED})(document.querySelector('{WIDGET}')"
        ".shadowRoot.querySelector('.msg.me img.thumb'))"
    )

    # The operator sees it inline, live in the list and in the thread.
    row = page.locator("li.conv", has_text="This is what I see")
    row.locator("a").click()
    image = page.locator("#messages .msg.from-contact .attachments img").first
    expect(image).to_be_visible()
    page.wait_for_function(
        "() => { const i = document.querySelector('#messages .attachments img');"
        " return i && i.complete && i.naturalWidth === 320; }"
    )

    # By paste: a screenshot from the clipboard, sent with no text.
    _paste(widget, _png((30, 160, 60)))
    expect(widget.locator(f"{WIDGET} .pf span")).to_have_text("Screenshot.png")
    composer.press("Enter")
    expect(widget.locator(f"{WIDGET} .msg.me img.thumb")).to_have_count(2)
    live = page.locator("#messages .msg.from-contact .attachments img")
    expect(live).to_have_count(2)  # appended live to the open thread

    # A refused type says so in the composer, and is not sent.
    script = tmp_path / "page.html"
    script.write_text("<html><script>alert(1)</script></html>")
    widget.locator(f"{WIDGET} input[type=file]").set_input_files(str(script))
    expect(widget.locator(f"{WIDGET} .pf.bad")).to_contain_text("not accepted")
    screenshot(widget, "attachments.png", tmp_path)
    context.close()


def test_done_when_a_pasted_screenshot_typing_reply_and_seen_on_a_second_device(
    browser: Any, server: Server, dashboard_page: Any
) -> None:
    """Issue 14's done-when: a verified user pastes a screenshot into the widget, the
    operator sees it inline while the user sees "<operator> is typing…", the reply
    arrives, and the user's second device shows it as read."""
    created = server.new_app("Done Shop")
    page = dashboard_page
    page.goto(f"{server.url}/dashboard/apps/{created.app.id}/inbox")
    page.wait_for_selector("[data-live-state].on")
    laptop_context, laptop = _device(browser, server, created.app.id, "grace-10", created.secret)
    laptop.locator(f"{WIDGET} button.launch").click()
    laptop.get_by_role("button", name="New conversation").click()
    _paste(laptop, _png((90, 90, 200)))
    expect(laptop.locator(f"{WIDGET} .pf span")).to_have_text("Screenshot.png")
    composer = laptop.get_by_role("textbox", name="Write a message")
    composer.fill("The export fails like this")
    composer.press("Enter")

    page.locator("li.conv", has_text="The export fails like this").locator("a").click()
    page.wait_for_function(
        "() => { const i = document.querySelector('#messages .attachments img');"
        " return i && i.complete && i.naturalWidth === 320; }"
    )
    page.locator("#reply-body").press_sequentially("Looking")
    expect(laptop.locator(f"{WIDGET} .typing")).to_have_text(re.compile(r".+ is typing…"))
    page.locator("#reply-body").press_sequentially(" into it: fixed now.")
    page.click("#reply button[type=submit]")
    expect(laptop.locator(f"{WIDGET} .bubble", has_text="fixed now")).to_be_visible()
    expect(laptop.locator(f"{WIDGET} .typing")).to_have_count(0, timeout=EXPIRED_MS)

    # The second device: the reply is listed as read (the laptop read it), no badge.
    phone_context, phone = _device(browser, server, created.app.id, "grace-10", created.secret)
    phone.locator(f"{WIDGET} button.launch").click()
    listed = phone.locator(f"{WIDGET} button.item", has_text="fixed now")
    expect(listed).to_have_class(re.compile(r"\bread\b"))
    expect(phone.locator(f"{WIDGET} button.launch .badge")).to_be_hidden()
    for context in (laptop_context, phone_context):
        context.close()
