"""Headless Chromium against a real ``countersign serve --demo``.

One server (a subprocess started the way a user starts it, on a free port with a
temporary data dir) serves the whole directory, and one browser each module. Each test
opens its own browser contexts, which share no storage, like separate devices. Host
pages come from a second, tiny HTTP server on another origin
(``http://customer.test:PORT``, mapped to 127.0.0.1 inside Chromium), as a customer's
product would serve them.

The browser is Debian's ``/usr/bin/chromium`` driven by Playwright for Python;
Playwright's own browser download is never used. Without either the tests skip and say
why, except with ``CI=true``, where they fail.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from countersign import RingKey, Secret, issue_identity_token, sign
from countersign.context import Backend, open_backend
from countersign.settings import load_settings
from countersign.storage import apps

from ..conftest import IN_CI

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

CHROMIUM = Path(os.environ.get("COUNTERSIGN_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Host pages live on a name of their own: a different origin from the server's,
    # and not a secure context (so the widget's non-randomUUID path runs too).
    "--host-resolver-rules=MAP customer.test 127.0.0.1",
]
WIDGET = "#countersign-widget"
COMMAND = [sys.executable, "-m", "countersign", "serve", "--demo"]


def _browser_or_skip() -> None:
    problem = None
    if not CHROMIUM.exists():
        problem = f"{CHROMIUM} is missing (Debian package: chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "Playwright for Python is missing (pip install playwright)"
    if problem is None:
        return
    if IN_CI:
        pytest.fail(f"{problem}: CI must run the browser tests, never skip them")
    print(f"\nskipping the browser tests: {problem}")
    pytest.skip(problem)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# The server --------------------------------------------------------------------------


@dataclass
class TestApp:
    """An app of the running server, with its secret and a server API key."""

    __test__ = False  # not a test class, whatever its name says

    server: DemoServer
    app_id: str
    secret: str
    secret_id: str
    api_key: str

    def sign(self, identifier: str, encoding: str = "hex") -> str:
        return sign(self.secret, identifier, encoding=encoding)

    def jwt(self, user_id: str) -> str:
        key = RingKey(self.secret_id, Secret(self.secret), datetime.now(UTC))
        return issue_identity_token(key, user_id=user_id, claims={"aud": self.app_id})

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """The server API, as the customer's backend calls it."""
        request = urllib.request.Request(
            self.server.url + path,
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def notify(self, user_id: str, title: str, body: str | None = None) -> Any:
        return self.call(
            "POST", "/v1/notifications", {"user_id": user_id, "title": title, "body": body}
        )

    def reply(self, conversation_id: str, body: str, name: str = "Grace") -> Any:
        author = {"type": "operator", "name": name}
        return self.call(
            "POST",
            f"/v1/conversations/{conversation_id}/messages",
            {"body": body, "author": author},
        )

    def conversations(self, user_id: str) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = self.call("GET", f"/v1/users/{user_id}/conversations")["data"]
        return data

    def messages(self, conversation_id: str) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = self.call(
            "GET", f"/v1/conversations/{conversation_id}/messages"
        )["data"]
        return data


@dataclass
class DemoServer:
    url: str
    data_dir: Path
    demo_app_id: str
    backend: Backend  # the same data dir, opened in the test process (as the CLI does)
    _apps: dict[str, TestApp] = field(default_factory=dict)

    def create_app(self, name: str, **policy: Any) -> TestApp:
        def create(connection: Any) -> apps.CreatedApp:
            created = apps.create_app(connection, self.backend.box, name)
            if policy:
                apps.update_policy(connection, created.app.id, **policy)
            return created

        created = self.backend.database.run_sync(create)
        return TestApp(self, created.app.id, created.secret, created.secret_id, created.api_key)

    def demo_app(self) -> TestApp:
        """The app ``--demo`` created, with a server API key made for the tests."""
        if "demo" not in self._apps:

            def keys(connection: Any) -> tuple[str, str, str]:
                secret_id = apps.list_secrets(connection, self.demo_app_id)[-1].id
                secret = apps.reveal_secret(
                    connection, self.backend.box, self.demo_app_id, secret_id
                )
                _, api_key = apps.create_api_key(connection, self.demo_app_id)
                return secret_id, secret.reveal().decode(), api_key

            secret_id, secret, api_key = self.backend.database.run_sync(keys)
            self._apps["demo"] = TestApp(self, self.demo_app_id, secret, secret_id, api_key)
        return self._apps["demo"]


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"countersign serve exited:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    raise RuntimeError(f"countersign serve did not start:\n{log.read_text()}")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    _browser_or_skip()
    data_dir = tmp_path_factory.mktemp("countersign-data")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = data_dir / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUNTERSIGN_")}
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*COMMAND, "--data-dir", str(data_dir), "--port", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
        )
    backend = None
    try:
        _wait_until_up(url, process, log)
        demo_app_id = json.loads((data_dir / "demo-app.json").read_text())["app_id"]
        assert f"Demo: {url}/demo" in log.read_text()
        backend = open_backend(load_settings(environ={}, data_dir=data_dir))
        yield DemoServer(url, data_dir, demo_app_id, backend)
    finally:
        if backend is not None:
            backend.close()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# Host pages on another origin ----------------------------------------------------------


class HostPages:
    """A static server for pages that embed the widget, on an origin of their own."""

    def __init__(self) -> None:
        self.pages: dict[str, bytes] = {}
        self._numbers = itertools.count(1)
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pages.get(self.path.split("?")[0])
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body or b"not found")

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://customer.test:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def add(self, html: str) -> str:
        path = f"/page-{next(self._numbers)}.html"
        self.pages[path] = html.encode()
        return self.origin + path

    def embed(self, server: DemoServer, app_id: str, before: str = "", after: str = "") -> str:
        """A page of "a customer's product": hostile styles, the snippet, the tag."""
        return self.add(
            f"""<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">
<title>Customer product</title>
<style>* {{ color: #f00 !important; font-family: serif !important; }}
button {{ all: unset; }} li {{ list-style: square; }}</style></head>
<body><h1>Customer product</h1>
<script>
window.Countersign = window.Countersign || function () {{ (Countersign.q = Countersign.q || []).push(arguments); }};
window.identities = [];
window.refusals = [];
Countersign('on', 'identity', function (who) {{ identities.push(who); }});
Countersign('on', 'refused', function (error) {{ refusals.push(error); }});
{before}
</script>
<script src="{server.url}/widget.js" data-app-id="{app_id}" async></script>
<script>{after}</script>
</body></html>"""
        )

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture(scope="session")
def host_pages() -> Iterator[HostPages]:
    pages = HostPages()
    yield pages
    pages.close()


# The browser ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(server: DemoServer) -> Iterator[Browser]:
    # One per module, not per session: two sync Playwrights cannot run in one thread,
    # and other suites (the dashboard's) start their own.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Tab:
    """A page in a browser context of its own (a device), with what it logged."""

    page: Page
    console: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)  # every request and WebSocket URL

    @property
    def widget(self) -> Locator:
        return self.page.locator(WIDGET)

    @property
    def launcher(self) -> Locator:
        return self.page.locator(f"{WIDGET} button.launch")

    @property
    def bell(self) -> Locator:
        return self.page.locator(f"{WIDGET} button.bell")

    @property
    def panel(self) -> Locator:
        return self.page.locator(f"{WIDGET} #cs-panel")

    def warnings(self) -> list[str]:
        return [text for text in self.console if text.startswith("warning:")]

    def expect_identity(self, status: str) -> None:
        from playwright.sync_api import expect

        expect(self.widget).to_have_attribute("data-identity", status)

    def storage(self) -> str:
        """Everything this page's scripts can read from storage and cookies."""
        return str(
            self.page.evaluate(
                "() => JSON.stringify([Object.entries(localStorage),"
                " Object.entries(sessionStorage), document.cookie])"
            )
        )


@pytest.fixture
def open_tab(browser: Browser) -> Iterator[Callable[[], Tab]]:
    """Open a page in a new browser context; every one is closed at the end."""
    contexts = []

    def open_one() -> Tab:
        context = browser.new_context(viewport={"width": 1200, "height": 800})
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        tab = Tab(page)
        page.on("console", lambda message: tab.console.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: tab.console.append(f"pageerror: {error}"))
        page.on("request", lambda request: tab.urls.append(request.url))
        page.on("websocket", lambda socket: tab.urls.append(socket.url))
        return tab

    yield open_one
    for context in contexts:
        with contextlib.suppress(Exception):
            context.close()


def no_page_errors(tab: Tab) -> None:
    errors = [text for text in tab.console if text.startswith("pageerror:")]
    assert not errors, errors


SESSION_TOKEN = re.compile(r"cst_[A-Za-z0-9_-]{20,}")
