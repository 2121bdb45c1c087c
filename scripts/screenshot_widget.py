"""Make docs/widget.png: the demo page with the widget open on a live conversation.

    python scripts/screenshot_widget.py [--out docs/widget.png]

Starts ``countersign serve --demo`` on a free port with a throwaway data dir, drives
Debian's Chromium with Playwright for Python (never Playwright's own browser
download), and writes the PNG.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

CHROMIUM = os.environ.get("COUNTERSIGN_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WIDGET = "#countersign-widget"
SERVE = [sys.executable, "-m", "countersign", "serve", "--demo"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_up(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1):  # noqa: S310 (http://127.0.0.1)
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"countersign serve did not answer at {url}")


def shoot(url: str, out: Path) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 780})
            page.goto(url + "/demo")
            expect(page.locator(WIDGET)).to_have_attribute("data-identity", "verified")
            page.locator(f"{WIDGET} button.launch").click()
            page.get_by_role("button", name="New conversation").click()
            page.keyboard.type("Hi! Can I export last quarter's report as CSV?")
            page.keyboard.press("Enter")
            expect(page.locator(f"{WIDGET} .msg.me .st")).to_have_count(0)
            page.locator("#reply").click()
            expect(page.locator(f"{WIDGET} .msg:not(.me)")).to_have_count(1)
            page.locator("#notify").click()
            page.locator("#notify").click()
            expect(page.locator(f"{WIDGET} .bell .badge")).to_have_text("2")
            page.locator(f"{WIDGET} textarea").fill("Perfect, thank you!")
            page.mouse.move(0, 0)
            page.evaluate("window.scrollTo(0, 0)")
            page.wait_for_timeout(300)  # let the panel's entrance animation finish
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=out)
        finally:
            browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs/widget.png"))
    out = parser.parse_args().out
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUNTERSIGN_")}
    with tempfile.TemporaryDirectory() as data_dir:
        command = [*SERVE, "--data-dir", data_dir, "--port", str(port), "--log-level", "warning"]
        server = subprocess.Popen(command, env=env)  # noqa: S603 (our own interpreter and CLI)
        try:
            wait_until_up(url)
            shoot(url, out)
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(f"wrote {out} ({out.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
