"""``countersign`` with no command serves, as datasette's does (click-default-group)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_bare_countersign_runs_serve(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUNTERSIGN_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "countersign", "--data-dir", str(tmp_path), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert server.poll() is None, "countersign exited instead of serving"
                assert time.monotonic() < deadline, "countersign did not start serving"
                time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_help_marks_serve_as_the_default() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "countersign", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "serve*" in done.stdout
