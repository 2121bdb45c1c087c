"""Regression tests for slow-client attacks on ``countersign serve`` (issue 20's review).

In the review's test 300 connections dribbling their request headers and 100 with
partial bodies all stayed open to the end: uvicorn has no limit on how long a client
may take to send its request. Now a connection whose request headers are not complete
within the header limit, or whose body brings no byte for the body limit, is closed
(``server/slow_clients.py``); WebSockets, keep-alive clients that keep asking, and
uploads that keep moving are not. Each attack test fails on the code the review found.

Against a real ``countersign serve`` with both limits at 1 s (a sweep every 0.25 s),
over raw sockets, since an HTTP client library would not send a request this badly.
"""

from __future__ import annotations

import contextlib
import json
import select
import signal
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from countersign.settings import SettingsError, load_settings
from tests.realtime.conftest import (
    CreatedApp,
    ServerNode,
    Servers,
    free_port,
    identify,
    stream,
)

LIMIT = 1.0  # both limits, in the server under test
# A connection is closed one sweep (0.25 s) after its limit at most; the rest is room
# for a busy 2-core machine.
CUT_BY = LIMIT + 1.5
LIMITS_ENV = {
    "COUNTERSIGN_REQUEST_HEADER_TIMEOUT_SECONDS": str(LIMIT),
    "COUNTERSIGN_REQUEST_BODY_TIMEOUT_SECONDS": str(LIMIT),
}


@dataclass
class Served:
    node: ServerNode
    app: CreatedApp


def start_server(root: Path, name: str = "server") -> Served:
    pool = Servers(root)
    data_dir = root / "data"
    app = pool.create_app(data_dir)
    args = [sys.executable, "-m", "countersign", "serve", "--data-dir", str(data_dir)]
    node = ServerNode(name, free_port(), args, pool.env | LIMITS_ENV, root / f"{name}.log")
    node.start()
    try:
        node.wait_ready()
    except BaseException:
        node.kill()
        raise
    return Served(node, app)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    started = start_server(tmp_path_factory.mktemp("slow-clients"))
    try:
        yield started
    finally:
        started.node.kill()


@pytest.fixture
def sockets(served: Served) -> Iterator[list[socket.socket]]:
    """Connections to the server under test, each closed at the end of the test."""
    opened: list[socket.socket] = []
    yield opened
    for sock in opened:
        sock.close()


def connect(served: Served, opened: list[socket.socket]) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", served.node.port), timeout=5)
    opened.append(sock)
    return sock


def request(path: str = "/healthz", *, extra: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: countersign.test\r\n{extra}\r\n".encode()


def read_response(sock: socket.socket, timeout: float = 5.0) -> bytes:
    """One whole response (these all carry Content-Length); fails on EOF or timeout."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"the server closed the connection mid-response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection mid-body"
        body += chunk
    return head


def closed_by_server(sock: socket.socket) -> bool:
    """Whether the server has closed ``sock`` (EOF or reset); reads what is waiting."""
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return False
    try:
        return sock.recv(65536) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True


def watch(
    socks: list[socket.socket],
    start: float,
    dribble: bytes | None = None,
    every: float = 0.2,
) -> list[float | None]:
    """Until ``CUT_BY`` + 1 s after ``start`` (a ``time.monotonic()``), every ``every`` s
    send ``dribble`` (if any) on each open socket; when the server closed each, in
    seconds since ``start`` (``None``: still open)."""
    seconds = CUT_BY + 1
    closed_at: list[float | None] = [None] * len(socks)
    while time.monotonic() - start < seconds and None in closed_at:
        for index, sock in enumerate(socks):
            if closed_at[index] is not None:
                continue
            gone = closed_by_server(sock)
            if not gone and dribble is not None:
                try:
                    sock.sendall(dribble)
                except (ConnectionResetError, BrokenPipeError):
                    gone = True
            if gone:
                closed_at[index] = time.monotonic() - start
        time.sleep(every)
    return closed_at


def assert_cut_at_the_limit(closed_at: list[float | None]) -> None:
    """Every connection was closed, none before its limit and none much after."""
    assert None not in closed_at, f"still open after {CUT_BY} s: {closed_at}"
    for seconds in closed_at:
        assert seconds is not None
        assert LIMIT - 0.1 <= seconds <= CUT_BY, closed_at


def healthy(served: Served) -> None:
    response = served.node.http.get("/healthz")
    assert response.status_code == 200


# ------------------------------------------------------------------------- settings


def test_the_limits_are_settings_with_bounds() -> None:
    settings = load_settings(LIMITS_ENV)
    assert (settings.request_header_timeout, settings.request_body_timeout) == (LIMIT, LIMIT)
    defaults = load_settings({})
    assert (defaults.request_header_timeout, defaults.request_body_timeout) == (10.0, 10.0)
    for name in LIMITS_ENV:
        for value in ("0", "601", "soon"):
            with pytest.raises(SettingsError, match=name):
                load_settings({name: value})


# ------------------------------------------------------------------------- attacks


def test_headers_dribbled_for_longer_than_the_limit_are_cut(
    served: Served, sockets: list[socket.socket]
) -> None:
    start = time.monotonic()
    socks = [connect(served, sockets) for _ in range(20)]
    for sock in socks:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: countersign.test\r\n")
    # A header line every 0.2 s: always sending, never done.
    closed_at = watch(socks, start, dribble=b"X-Slow: y\r\n")
    assert_cut_at_the_limit(closed_at)
    healthy(served)


def test_a_connection_that_never_sends_a_byte_is_cut(
    served: Served, sockets: list[socket.socket]
) -> None:
    start = time.monotonic()
    socks = [connect(served, sockets) for _ in range(5)]
    assert_cut_at_the_limit(watch(socks, start))


def test_the_next_request_dribbled_on_a_keep_alive_connection_is_cut(
    served: Served, sockets: list[socket.socket]
) -> None:
    sock = connect(served, sockets)
    sock.sendall(request())
    assert read_response(sock).startswith(b"HTTP/1.1 200")
    start = time.monotonic()  # the limit counts from the end of the response
    sock.sendall(b"GET /healthz HTTP/1.1\r\n")
    # Every 0.2 s a byte, which also keeps uvicorn's own keep-alive timer from firing.
    closed_at = watch([sock], start, dribble=b"X")
    assert_cut_at_the_limit(closed_at)


def test_a_request_body_that_stalls_is_cut(served: Served, sockets: list[socket.socket]) -> None:
    head = (
        "POST /v1/widget/identify HTTP/1.1\r\nHost: countersign.test\r\n"
        "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    )
    socks = [connect(served, sockets) for _ in range(10)]
    start = time.monotonic()
    for sock in socks:
        sock.sendall(head.encode() + b'{"app_id": "')  # ... and not another byte
    assert_cut_at_the_limit(watch(socks, start))
    healthy(served)
    log = served.node.log_path.read_text(errors="replace")
    assert "Exception in ASGI application" not in log  # the app saw a plain disconnect
    assert "Traceback" not in log


# ------------------------------------------------------- and who must not be cut


def test_a_keep_alive_client_that_keeps_asking_is_not_cut(
    served: Served, sockets: list[socket.socket]
) -> None:
    sock = connect(served, sockets)
    started = time.monotonic()
    for _ in range(8):  # 3 s on one connection, under a limit of 1 s
        sock.sendall(request())
        assert read_response(sock).startswith(b"HTTP/1.1 200")
        time.sleep(0.4)
    assert time.monotonic() - started > 3 * LIMIT
    assert not closed_by_server(sock)


def test_an_upload_that_keeps_moving_past_the_limit_is_not_cut(
    served: Served, sockets: list[socket.socket]
) -> None:
    body = json.dumps({"app_id": served.app.app_id, "padding": "x" * 1200}).encode()
    head = (
        "POST /v1/widget/identify HTTP/1.1\r\nHost: countersign.test\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    sock = connect(served, sockets)
    sock.sendall(head.encode())
    started = time.monotonic()
    pieces = [body[offset : offset + 100] for offset in range(0, len(body), 100)]
    for piece in pieces:  # 13 pieces, 0.3 s apart: ~4 s, under a limit of 1 s
        time.sleep(0.3)
        assert not closed_by_server(sock), "cut while the upload was moving"
        sock.sendall(piece)
    assert time.monotonic() - started > 3 * LIMIT
    # The whole body arrived: the app answered it (an unknown field, so 422).
    assert read_response(sock).startswith(b"HTTP/1.1 422")


def test_a_websocket_idle_longer_than_the_limit_is_not_cut(served: Served) -> None:
    token = identify(served.node, served.app, "slow-clients-user")["session_token"]
    with stream(served.node, token) as (websocket, _head):
        time.sleep(3 * LIMIT)  # nothing sent either way
        pong = websocket.ping()
        assert pong.wait(timeout=2), "the WebSocket was closed or answers no more"


def test_a_stalled_body_does_not_hold_up_the_shutdown(tmp_path: Path) -> None:
    """uvicorn waits for every request in progress before it stops; a stalled body was
    one forever, so SIGTERM never finished stopping the server."""
    started = start_server(tmp_path)
    node = started.node
    try:
        with contextlib.closing(socket.create_connection(("127.0.0.1", node.port))) as sock:
            sock.sendall(
                b"POST /v1/widget/identify HTTP/1.1\r\nHost: countersign.test\r\n"
                b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
            )
            time.sleep(0.2)  # the request is in progress
            assert node.process is not None
            node.process.send_signal(signal.SIGTERM)
            code = node.process.wait(timeout=CUT_BY + 5)
        log = node.log_path.read_text(errors="replace")
        # uvicorn raises the signal again once it has shut down, so it exits by it.
        assert code in (0, -signal.SIGTERM), log
        assert "Finished server process" in log
        assert "Traceback" not in log
    finally:
        node.kill()
