"""The dashboard in headless Chromium against a real ``countersign serve``.

What a person does: log in, answer a visitor and see the answer arrive in the
visitor's browser, change the identity mode and watch identify follow, rotate a
secret, and check a hash in the page without the secret ever leaving it.

The widget side runs in a second browser context and talks to the widget API and its
WebSocket directly, as ``widget.js`` does. Needs Debian's ``/usr/bin/chromium`` and the
Playwright package (never ``playwright install``): without them the tests skip with the
reason, except in CI (``CI=true``), where they fail. Set
``COUNTERSIGN_UPDATE_SCREENSHOTS=1`` to rewrite ``docs/dashboard-*.png``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from countersign import sign
from countersign.context import open_backend
from countersign.settings import load_settings
from countersign.storage import apps

from .conftest import OWNER, PASSWORD

IN_CI = os.environ.get("CI") == "true"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DOCS = Path(__file__).resolve().parents[3] / "docs"
UPDATE_SCREENSHOTS = os.environ.get("COUNTERSIGN_UPDATE_SCREENSHOTS") == "1"
START_TIMEOUT = 30.0
STEP_TIMEOUT_MS = 10_000


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason}: CI must run the browser tests, never skip them")
    print(f"skipping the browser tests: {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _request(
    method: str, url: str, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


@dataclass
class Server:
    url: str
    data_dir: Path
    env: dict[str, str]
    log_path: Path

    def cli(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "countersign", *args, "--data-dir", str(self.data_dir)],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def new_app(self, name: str) -> apps.CreatedApp:
        settings = load_settings(environ={}, data_dir=self.data_dir)
        backend = open_backend(settings)
        try:
            return backend.database.run_sync(lambda c: apps.create_app(c, backend.box, name))
        finally:
            backend.close()

    def identify(self, app_id: str, **fields: Any) -> tuple[int, Any]:
        return _request("POST", f"{self.url}/v1/widget/identify", {"app_id": app_id, **fields})

    def status_of(self, app_id: str, user_id: str, user_hash: str | None) -> str | int:
        """``verified``/``unverified``/``anonymous``, or the HTTP status of a refusal."""
        fields: dict[str, Any] = {"user_id": user_id}
        if user_hash is not None:
            fields["user_hash"] = user_hash
        status, document = self.identify(app_id, **fields)
        return document["identity"]["status"] if status == 200 else status


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("browser")
    data_dir = root / "data"
    # The server starts clean: no settings of the shell, no tracing of the test run.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("COUNTERSIGN_") and k != "PYTHONTRACEMALLOC"
    }
    env["PYTHONUNBUFFERED"] = "1"
    port = _free_port()
    log_path = root / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "countersign", "serve",
                "--data-dir", str(data_dir), "--port", str(port), "--log-level", "warning",
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"countersign serve exited:\n{log_path.read_text()}")
            with contextlib.suppress(OSError):
                if _request("GET", f"{url}/readyz")[0] == 200:
                    break
            if time.monotonic() > deadline:
                pytest.fail(f"countersign serve did not start:\n{log_path.read_text()}")
            time.sleep(0.1)
        yield Server(url, data_dir, env, log_path)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@pytest.fixture(scope="module")
def owner(server: Server) -> str:
    """The first operator, made the way a new user makes it: the dashboard's first-run
    page names the command, and the command is run as shown."""
    with urllib.request.urlopen(f"{server.url}/dashboard/login", timeout=10) as response:
        first_run = response.read().decode()
    assert "There is no operator yet" in first_run
    assert "countersign operators create you@example.com --password-stdin --role owner" in (
        first_run
    )
    server.cli("operators", "create", OWNER, "--password-stdin", "--name", "Olivia", stdin=PASSWORD)
    return OWNER


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is missing (pip install playwright)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def dashboard_page(browser: Any, server: Server, owner: str) -> Iterator[Any]:
    """A browser context logged into the dashboard."""
    context = browser.new_context(viewport={"width": 1360, "height": 860})
    context.set_default_timeout(STEP_TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: errors.append(message.text) if message.type == "error" else None,
    )
    page.goto(f"{server.url}/dashboard")
    page.fill("input[name=email]", owner)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector(".me .who")
    yield page
    context.close()
    # A CSP violation or a script error shows up here.
    assert errors == [], errors


def screenshot(page: Any, name: str, tmp_path: Path, *, full_page: bool = False) -> None:
    target = DOCS / name if UPDATE_SCREENSHOTS else tmp_path / name
    page.screenshot(path=str(target), full_page=full_page)
    assert target.stat().st_size > 10_000


WIDGET_JS = """
async ([base, appId, userId, userHash, body]) => {
  const post = async (path, payload, token) => {
    const response = await fetch(base + path, {
      method: "POST",
      headers: Object.assign({"Content-Type": "application/json"},
        token ? {"Authorization": "Bearer " + token} : {}),
      body: JSON.stringify(payload),
    });
    return response.json();
  };
  const session = await post("/v1/widget/identify",
    {app_id: appId, user_id: userId, user_hash: userHash});
  window.token = session.session_token;
  window.identity = session.identity.status;
  window.received = [];
  const socket = new WebSocket(base.replace("http", "ws") + "/v1/widget/stream");
  await new Promise((resolve) => {
    socket.onopen = () => socket.send(JSON.stringify({token: window.token, since: null}));
    socket.onmessage = (frame) => {
      const event = JSON.parse(frame.data);
      window.received.push(event);
      if (event.type === "ready") resolve();
    };
  });
  window.say = (conversationId, text) =>
    post("/v1/widget/conversations/" + conversationId + "/messages", {body: text}, window.token);
  const conversation = await post("/v1/widget/conversations", {body}, window.token);
  return conversation.id;
}
"""


def test_a_reply_reaches_the_visitor_live_and_the_inbox_updates_live(
    browser: Any, server: Server, dashboard_page: Any, tmp_path: Path
) -> None:
    created = server.new_app("Live Shop")
    page = dashboard_page
    page.goto(f"{server.url}/dashboard/apps/{created.app.id}/inbox")
    page.wait_for_selector("[data-live-state].on")

    # A verified visitor writes from the widget, in another browser context.
    widget_context = browser.new_context()
    widget = widget_context.new_page()
    widget.goto(f"{server.url}/healthz")
    user = "user-4821"
    conversation_id = widget.evaluate(
        WIDGET_JS,
        [server.url, created.app.id, user, sign(created.secret, user), "My invoice is wrong"],
    )
    assert widget.evaluate("window.identity") == "verified"

    # It appears in the open inbox without a reload, unread.
    row = page.locator(f'li.conv[data-conversation-id="{conversation_id}"]')
    row.wait_for()
    assert "unread" in (row.get_attribute("class") or "")
    assert "My invoice is wrong" in row.inner_text()

    row.locator("a").click()
    page.wait_for_selector("#messages .msg.from-contact")
    assert page.locator(".thread .badge-verified").count() == 1
    page.fill("#reply-body", "Sorry about that, fixing it now.")
    page.click("#reply button[type=submit]")
    page.wait_for_selector("#messages .msg.from-operator >> text=fixing it now")

    # The visitor's open stream gets the reply, as an operator's, with the name.
    widget.wait_for_function(
        """() => window.received.some((e) => e.type === "message.created"
            && e.data.author.type === "operator" && e.data.author.name === "Olivia"
            && e.data.body === "Sorry about that, fixing it now.")""",
        timeout=STEP_TIMEOUT_MS,
    )
    # ... and what the visitor writes next shows up in the open thread, live.
    widget.evaluate("([id]) => window.say(id, 'Thanks, that was quick!')", [conversation_id])
    page.wait_for_selector("#messages .msg.from-contact >> text=that was quick")
    screenshot(page, "dashboard-inbox.png", tmp_path)
    widget_context.close()


def test_changing_the_identity_mode_changes_what_identify_does(
    server: Server, dashboard_page: Any, tmp_path: Path
) -> None:
    created = server.new_app("Mode Shop")
    app_id = created.app.id
    page = dashboard_page
    page.goto(f"{server.url}/dashboard/apps/{app_id}/identity")
    wrong = sign("a different secret altogether", "u-7")
    assert server.status_of(app_id, "u-7", wrong) == 401

    def choose(mode: str) -> None:
        page.check(f'input[name=identity_mode][value="{mode}"]')
        page.click("form.policy button[type=submit]")
        page.wait_for_selector(".notice >> text=Saved")

    choose("report")
    assert server.status_of(app_id, "u-7", wrong) == "unverified"
    assert server.status_of(app_id, "u-7", sign(created.secret, "u-7")) == "verified"

    choose("off")
    assert page.locator(".alarm >> text=Identity verification is OFF").is_visible()
    assert page.locator(".alarm.big").is_visible()
    assert server.status_of(app_id, "u-7", None) == "unverified"

    choose("required")
    assert page.locator(".alarm").count() == 0
    assert server.status_of(app_id, "u-7", None) == 401
    assert server.status_of(app_id, "u-7", sign(created.secret, "u-7")) == "verified"


def test_rotating_a_secret_from_the_dashboard(
    server: Server, dashboard_page: Any, tmp_path: Path
) -> None:
    created = server.new_app("Rotation Shop")
    app_id, old = created.app.id, created.secret
    page = dashboard_page
    page.goto(f"{server.url}/dashboard/apps/{app_id}/identity")
    page.click("text=Create a secret")
    new = page.locator("[data-secret-value]").inner_text().strip()
    assert new.startswith("css_")
    assert new != old
    for secret in (old, new):
        assert server.status_of(app_id, "rot-1", sign(secret, "rot-1")) == "verified"

    # The old secret's row says it is still in use; revoking asks first.
    page.goto(f"{server.url}/dashboard/apps/{app_id}/identity")
    old_row = page.locator(f'tr[data-secret-id="{created.secret_id}"]')
    assert "Still in use" in old_row.inner_text()
    page.once("dialog", lambda dialog: dialog.accept())
    old_row.locator("button.danger").click()
    page.wait_for_selector(".notice >> text=Secret revoked")
    assert server.status_of(app_id, "rot-1", sign(old, "rot-1")) == 401
    assert server.status_of(app_id, "rot-1", sign(new, "rot-1")) == "verified"

    # Revealing the new one asks for the password again, and the reveal is logged.
    new_row = page.locator("tr[data-secret-id]").first
    new_row.locator("details.reveal summary").click()
    new_row.locator("input[name=password]").fill(PASSWORD)
    new_row.locator("details.reveal button[type=submit]").click()
    assert page.locator("[data-secret-value]").inner_text().strip() == new
    assert page.locator('#audit tr[data-action="secret.revealed"]').count() == 1
    page.goto(f"{server.url}/dashboard/apps/{app_id}/identity")
    screenshot(page, "dashboard-identity.png", tmp_path, full_page=True)


def test_the_hash_checker_finds_a_lowercased_email_without_sending_the_secret(
    browser: Any, server: Server, dashboard_page: Any
) -> None:
    created = server.new_app("Checker Shop")
    secret = created.secret
    page = dashboard_page
    page.goto(f"{server.url}/dashboard/apps/{created.app.id}/install")
    sent: list[str] = []
    page.on(
        "request",
        lambda request: sent.append(
            f"{request.url}\n{request.post_data or ''}\n{json.dumps(request.headers)}"
        ),
    )

    def check(identifier: str, user_hash: str, *, on: Any = page, key: str = secret) -> str:
        on.fill("#hc-secret", key)
        on.fill("#hc-identifier", identifier)
        on.fill("#hc-hash", user_hash)
        on.evaluate("document.getElementById('hc-result').removeAttribute('data-code')")
        on.click("#hc-check")
        on.wait_for_selector("#hc-result[data-code]")
        return str(on.get_attribute("#hc-result", "data-code"))

    email = "Alice.Smith@Example.com"
    assert check(email, sign(secret, email.lower())) == "identifier_case"
    assert "alice.smith@example.com" in page.inner_text("#hc-result")
    assert check(email, sign(secret, email)) == "ok"
    assert check(email, sign(secret, email, encoding="base64")) == "ok"
    assert check(email, sign(secret + "\n", email)) == "secret_whitespace"
    assert check(email, sign(secret, email + " ")) == "identifier_whitespace"
    assert check(email, hashlib.sha256(email.encode()).hexdigest()) == "plain_hash"
    assert check(email, hashlib.sha1(email.encode()).hexdigest()) == "malformed_signature"
    assert "SHA-1" in page.inner_text("#hc-result")
    assert check(email, sign(created.app.id, email)) == "public_key_used"
    # Typing, checking and clicking sent nothing at all, so certainly not the secret.
    page.goto(f"{server.url}/dashboard/apps/{created.app.id}/log")
    assert sent, "the navigation after the checks was recorded"
    assert not any(secret in request for request in sent)

    # Where WebCrypto is missing (plain http off localhost) the page's own SHA-256 runs.
    context = browser.new_context()
    context.add_init_script("Object.defineProperty(window.crypto, 'subtle', {value: undefined})")
    context.add_cookies(page.context.cookies())
    fallback = context.new_page()
    fallback.goto(f"{server.url}/dashboard/apps/{created.app.id}/install")
    assert fallback.evaluate("window.crypto.subtle === undefined")
    assert check(email, sign(secret, email.lower()), on=fallback) == "identifier_case"
    assert check(email, sign(secret, email), on=fallback) == "ok"
    long_secret = secret * 3  # a key longer than SHA-256's block is hashed first
    assert check(email, sign(long_secret, email), on=fallback, key=long_secret) == "ok"
    context.close()


def test_the_screenshots_exist() -> None:
    for name in ("dashboard-inbox.png", "dashboard-identity.png"):
        assert (DOCS / name).is_file(), f"run with COUNTERSIGN_UPDATE_SCREENSHOTS=1 to make {name}"
