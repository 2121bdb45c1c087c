"""Start a real ``countersign`` server for a CLI test and wait until it answers."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import IO, Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def serves_on(
    port: int, args: list[str], env: dict[str, str], command: tuple[str, ...] = ("serve",)
) -> str:
    """Start ``countersign COMMAND ARGS``, wait for /healthz on ``port``, return what it
    printed (stdout and stderr)."""
    server = subprocess.Popen(
        [sys.executable, "-m", "countersign", *command, *args],
        env={k: v for k, v in os.environ.items() if not k.startswith("COUNTERSIGN_")} | env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
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
                assert time.monotonic() < deadline, f"nothing served on port {port}"
                time.sleep(0.1)
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=10)
    return output


@contextlib.contextmanager
def serving(
    args: list[str], env: dict[str, str] | None = None, *, output: IO[Any] | int | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """``countersign serve ARGS --port P`` running for the block: (the process, P).

    Waits for /healthz first; ``output`` takes its stdout and stderr (default: dropped).
    Stopped with SIGTERM (a graceful shutdown) at the end."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "countersign", "serve", *args, "--port", str(port)],
        env={k: v for k, v in os.environ.items() if not k.startswith("COUNTERSIGN_")} | (env or {}),
        stdout=subprocess.DEVNULL if output is None else output,
        stderr=subprocess.DEVNULL if output is None else subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 40
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, "countersign exited instead of serving"
                assert time.monotonic() < deadline, f"nothing served on port {port}"
                time.sleep(0.1)
        yield server, port
    finally:
        server.terminate()
        server.wait(timeout=30)
