"""Who the widget says the user is, in a real browser: impersonation from the console,
two devices of one user, logout on a shared computer, and where the token never goes."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from .conftest import SESSION_TOKEN, WIDGET, DemoServer, HostPages, Tab, TestApp, no_page_errors


@pytest.fixture(scope="module")
def app(server: DemoServer) -> TestApp:
    return server.create_app("Identity tests")


def test_impersonation_from_the_console_is_refused_and_sees_nothing(
    server: DemoServer, host_pages: HostPages, app: TestApp, open_tab: Callable[[], Tab]
) -> None:
    # The victim has history: a conversation with support and a notification.
    started = app.call(
        "POST",
        "/v1/conversations",
        {"user_id": "victim", "body": "Your refund of $1,250 went out today."},
    )
    app.notify("victim", "Card ending 4242 expires soon")
    # The attacker is a real user of the product, with a valid hash of their own.
    mallory_hash = app.sign("mallory")
    url = host_pages.embed(
        server,
        app.app_id,
        before=f"Countersign('identify', {{user_id: 'mallory', user_hash: '{mallory_hash}'}});",
    )
    tab = open_tab()
    page = tab.page
    page.goto(url)
    tab.expect_identity("verified")

    # In the console: claim the victim, with a made-up hash and with one's own.
    for wrong in ("0" * 64, mallory_hash):
        page.evaluate(f"Countersign('identify', {{user_id: 'victim', user_hash: '{wrong}'}})")
        page.wait_for_function("n => refusals.length === n", arg=1 if wrong == "0" * 64 else 2)
        tab.expect_identity("anonymous")
    refusals = page.evaluate("() => refusals")
    assert [r["code"] for r in refusals] == ["identity_verification_failed"] * 2
    warnings = tab.warnings()
    assert len(warnings) == 2
    assert all(
        "identity_verification_failed" in w and "docs/widget.md#when-identify-is-refused" in w
        for w in warnings
    )

    # Nothing of the victim's reaches the page, in the widget or anywhere else.
    tab.launcher.click()
    expect(tab.panel).to_contain_text("No conversations yet")
    expect(tab.bell).to_be_hidden()
    assert "refund" not in tab.panel.inner_text()
    assert started["id"] not in page.content()
    # The server itself refuses the same call made by hand.
    status = page.evaluate(
        """async ([base, appId]) => (await fetch(base + '/v1/widget/identify', {
            method: 'POST', headers: {'Content-Type': 'application/json'},
            body: JSON.stringify({app_id: appId, user_id: 'victim', user_hash: '0'.repeat(64)})
        })).status""",
        [server.url, app.app_id],
    )
    assert status == 401
    no_page_errors(tab)


def test_two_devices_share_history_and_logout_leaves_nothing(
    server: DemoServer, host_pages: HostPages, app: TestApp, open_tab: Callable[[], Tab]
) -> None:
    boot = f"Countersign('boot', {{user_id: 'ada', user_hash: '{app.sign('ada')}', name: 'Ada'}});"
    signed_in = host_pages.embed(server, app.app_id, before=boot)
    signed_out = host_pages.embed(server, app.app_id)
    laptop, phone = open_tab(), open_tab()
    for device in (laptop, phone):
        device.page.goto(signed_in)
        device.expect_identity("verified")

    # The laptop starts a conversation; the phone sees it live and answers.
    laptop.launcher.click()
    laptop.page.get_by_role("button", name="New conversation").click()
    laptop.page.keyboard.type("Sent from my laptop")
    laptop.page.keyboard.press("Enter")
    phone.launcher.click()
    phone.page.get_by_role("button", name="You: Sent from my laptop", exact=False).click()
    expect(phone.panel.locator(".bubble")).to_have_text(["Sent from my laptop"])
    phone.page.keyboard.type("And this from my phone")
    phone.page.keyboard.press("Enter")
    expect(laptop.panel.locator(".bubble")).to_have_text(
        ["Sent from my laptop", "And this from my phone"]
    )

    # Logout on the laptop (a shared computer): anonymous, with an empty history, and a
    # new visitor for whoever comes next.
    visitor_key = f"countersign:{app.app_id}:visitor"
    before = laptop.page.evaluate(f"localStorage.getItem('{visitor_key}')")
    assert before
    laptop.page.evaluate("Countersign('logout')")
    laptop.expect_identity("anonymous")
    expect(laptop.panel).to_contain_text("No conversations yet")
    expect(laptop.bell).to_be_hidden()
    laptop.page.goto(signed_out)
    laptop.launcher.click()
    expect(laptop.panel).to_contain_text("No conversations yet")
    after = laptop.page.evaluate(f"localStorage.getItem('{visitor_key}')")
    assert after
    assert after != before
    assert "laptop" not in laptop.panel.inner_text()

    # The phone is still signed in, with the whole history.
    phone.expect_identity("verified")
    phone.page.reload()
    phone.expect_identity("verified")
    phone.launcher.click()
    expect(phone.panel.locator(".item")).to_have_count(1)
    expect(phone.panel).to_contain_text("And this from my phone")
    for device in (laptop, phone):
        no_page_errors(device)


def test_the_session_token_never_reaches_a_url_or_storage(
    server: DemoServer, host_pages: HostPages, app: TestApp, open_tab: Callable[[], Tab]
) -> None:
    url = host_pages.embed(
        server, app.app_id, before=f"Countersign('auth', 'grace', '{app.sign('grace')}');"
    )
    tab = open_tab()
    hellos: list[str] = []

    def relay(socket: object) -> None:
        # Sit between the widget and the server, reading the first message.
        upstream = socket.connect_to_server()  # type: ignore[attr-defined]
        socket.on_message(lambda message: (hellos.append(message), upstream.send(message)))  # type: ignore[attr-defined]

    tab.page.route_web_socket(f"{server.url.replace('http', 'ws')}/v1/widget/stream", relay)
    tab.page.goto(url)
    tab.expect_identity("verified")
    tab.launcher.click()
    expect(tab.panel).to_contain_text("No conversations yet")
    assert hellos, "the widget never opened its stream"
    assert SESSION_TOKEN.search(hellos[0]), "the token travels in the first message"
    assert all(not SESSION_TOKEN.search(url) for url in tab.urls), tab.urls
    assert not SESSION_TOKEN.search(tab.storage())
    assert tab.page.evaluate("() => Object.keys(window).filter(k => /token/i.test(k))") == []


def test_a_failed_send_is_retried_without_a_duplicate(
    server: DemoServer, host_pages: HostPages, app: TestApp, open_tab: Callable[[], Tab]
) -> None:
    app.call("POST", "/v1/conversations", {"user_id": "lin", "body": "Hi Lin!"})
    url = host_pages.embed(
        server, app.app_id, before=f"Countersign('auth', 'lin', '{app.sign('lin')}');"
    )
    tab = open_tab()
    posts: list[str] = []

    def flaky_network(route: object) -> None:
        request = route.request  # type: ignore[attr-defined]
        if request.method != "POST":
            route.continue_()  # type: ignore[attr-defined]
            return
        posts.append(request.post_data_json["client_id"])
        if len(posts) == 1:
            route.abort()  # type: ignore[attr-defined]  # never reaches the server
        elif len(posts) == 2:
            route.fetch()  # type: ignore[attr-defined]  # the server stores it...
            route.abort()  # type: ignore[attr-defined]  # ...and the answer is lost
        else:
            route.continue_()  # type: ignore[attr-defined]

    tab.page.route("**/v1/widget/conversations/*/messages", flaky_network)
    tab.page.goto(url)
    tab.expect_identity("verified")
    tab.launcher.click()
    tab.page.get_by_role("button", name="Countersign: Hi Lin!").click()
    tab.page.keyboard.type("Did this arrive once?")
    tab.page.keyboard.press("Enter")
    mine = tab.panel.locator(".msg.me")
    expect(mine.locator(".bubble")).to_have_text("Did this arrive once?")  # at once
    expect(mine.locator(".st")).to_have_text("Sending…")
    expect(mine.locator(".st")).to_have_count(0)  # confirmed, by the retry or the stream
    assert len(posts) >= 2
    assert len(set(posts)) == 1  # every attempt carries the same client_id
    conversation = app.conversations("lin")[0]
    bodies = [m["body"] for m in app.messages(conversation["id"])]
    assert bodies == ["Hi Lin!", "Did this arrive once?"]
    expect(mine).to_have_count(1)


def test_a_send_that_keeps_failing_offers_a_retry(
    server: DemoServer, host_pages: HostPages, app: TestApp, open_tab: Callable[[], Tab]
) -> None:
    app.call("POST", "/v1/conversations", {"user_id": "noor", "body": "Hi Noor!"})
    url = host_pages.embed(
        server, app.app_id, before=f"Countersign('auth', 'noor', '{app.sign('noor')}');"
    )
    tab = open_tab()
    tab.page.goto(url)
    tab.expect_identity("verified")
    tab.launcher.click()
    tab.page.get_by_role("button", name="Countersign: Hi Noor!").click()
    refuse = "**/v1/widget/conversations/*/messages"
    tab.page.route(refuse, lambda route: route.fulfill(status=503, body="{}"))
    tab.page.keyboard.type("Are you there?")
    tab.page.keyboard.press("Enter")
    mine = tab.panel.locator(".msg.me")
    expect(mine.locator(".st")).to_have_text("Not sent. Retry", timeout=15_000)
    tab.page.unroute(refuse)
    mine.get_by_role("button", name="Retry").click()
    expect(mine.locator(".st")).to_have_count(0)
    conversation = app.conversations("noor")[0]
    assert [m["body"] for m in app.messages(conversation["id"])] == ["Hi Noor!", "Are you there?"]


def test_the_stream_reconnects_and_replays_what_it_missed(
    server: DemoServer, host_pages: HostPages, app: TestApp, open_tab: Callable[[], Tab]
) -> None:
    started = app.call("POST", "/v1/conversations", {"user_id": "mo", "body": "Welcome, Mo"})
    url = host_pages.embed(
        server, app.app_id, before=f"Countersign('auth', 'mo', '{app.sign('mo')}');"
    )
    tab = open_tab()
    sockets: list[object] = []
    hellos: list[str] = []

    def relay(socket: object) -> None:
        sockets.append(socket)
        upstream = socket.connect_to_server()  # type: ignore[attr-defined]
        socket.on_message(lambda message: (hellos.append(message), upstream.send(message)))  # type: ignore[attr-defined]

    tab.page.route_web_socket(f"{server.url.replace('http', 'ws')}/v1/widget/stream", relay)
    tab.page.goto(url)
    tab.expect_identity("verified")
    tab.launcher.click()
    tab.page.get_by_role("button", name="Countersign: Welcome, Mo").click()
    app.reply(started["id"], "Live one")
    bubbles = tab.panel.locator(".msg:not(.me) .bubble")
    expect(bubbles).to_have_text(["Welcome, Mo", "Live one"])

    # The connection drops; a reply lands while it is down; the widget reconnects with
    # the last seq it saw and the server replays exactly what it missed.
    sockets[-1].close(code=1011)  # type: ignore[attr-defined]
    app.reply(started["id"], "Sent while you were away")
    expect(bubbles).to_have_text(["Welcome, Mo", "Live one", "Sent while you were away"])
    assert len(hellos) == 2
    assert '"since": null' in hellos[0].replace(":null", ": null")
    assert '"since":' in hellos[1]
    assert '"since":null' not in hellos[1].replace(" ", "")
    app.reply(started["id"], "And live again")
    expect(bubbles).to_have_count(4)
    no_page_errors(tab)


def test_keyboard_and_screen_reader_basics(
    server: DemoServer, host_pages: HostPages, app: TestApp, open_tab: Callable[[], Tab]
) -> None:
    url = host_pages.embed(
        server, app.app_id, before=f"Countersign('auth', 'kai', '{app.sign('kai')}');"
    )
    app.notify("kai", "Welcome aboard")
    tab = open_tab()
    page = tab.page
    page.goto(url)
    tab.expect_identity("verified")
    expect(tab.bell).to_have_attribute("aria-label", "Notifications, 1 unread")

    # Tab reaches the launchers; Enter opens; focus moves into the panel.
    tab.launcher.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Messages")
    expect(dialog).to_be_visible()
    expect(page.get_by_role("button", name="New conversation")).to_be_focused()
    # Arrow keys move between the tabs; Enter on a notification marks it read.
    page.get_by_role("tab", name="Messages").focus()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("tab", name="Notifications, 1 unread")).to_be_focused()
    expect(page.get_by_role("tab", name="Notifications, 1 unread")).to_have_attribute(
        "aria-selected", "true"
    )
    page.get_by_role("button", name="Unread. Welcome aboard", exact=False).focus()
    page.keyboard.press("Enter")
    expect(tab.bell).to_have_attribute("aria-label", "Notifications, 0 unread")
    # Escape closes and gives focus back.
    page.keyboard.press("Escape")
    expect(tab.panel).to_be_hidden()
    expect(tab.launcher).to_be_focused()

    # The host page's styles (everything red, serif, buttons unset) stay outside.
    tab.launcher.click()
    title = page.locator(f"{WIDGET} #cs-title")
    assert title.evaluate("e => getComputedStyle(e).color") != "rgb(255, 0, 0)"
    assert "serif" not in title.evaluate("e => getComputedStyle(e).fontFamily").replace(
        "sans-serif", ""
    )
    launcher_width = tab.launcher.evaluate("e => getComputedStyle(e).width")
    assert launcher_width == "56px"
    no_page_errors(tab)
