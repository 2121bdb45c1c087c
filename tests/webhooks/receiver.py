"""A real HTTP receiver for webhook tests: ``http.server`` on 127.0.0.1 in a thread.

It records every request exactly as it arrived (raw body bytes and headers) and
answers with ``status`` (200 unless a test says otherwise). ``stop()`` closes the
listening socket, so deliveries meet a refused connection; ``start()`` listens again
on the same port.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.realtime.conftest import free_port


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    at: float

    @property
    def event_id(self) -> str:
        return self.headers["x-countersign-event-id"]

    def json(self) -> Any:
        import json

        return json.loads(self.body)


class Receiver:
    def __init__(self) -> None:
        self.port = free_port()
        self.status = 200
        # Statuses for the next requests, in order, before ``status`` applies again:
        # set before the requests come, so no test races the sender to flip ``status``.
        self.next_statuses: list[int] = []
        self.delay = 0.0  # seconds to wait before answering (a slow endpoint)
        self.received: list[Received] = []
        self.answered: list[int] = []  # the status of each request, in order
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    status = (
                        receiver.next_statuses.pop(0) if receiver.next_statuses else receiver.status
                    )
                    receiver.received.append(
                        Received(
                            self.path,
                            {name.lower(): value for name, value in self.headers.items()},
                            body,
                            time.monotonic(),
                        )
                    )
                    receiver.answered.append(status)
                    delay = receiver.delay
                if delay:
                    time.sleep(delay)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def start(self) -> None:
        server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.delay = 0.0
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    def delivered(self) -> list[Received]:
        """The requests answered with a 2xx, in arrival order."""
        with self._lock:
            return [
                item
                for item, status in zip(self.received, self.answered, strict=True)
                if 200 <= status < 300
            ]

    def wait_for(
        self, condition: Callable[[list[Received]], bool], timeout: float = 15.0
    ) -> list[Received]:
        deadline = time.monotonic() + timeout
        while True:
            got = self.snapshot()
            if condition(got):
                return got
            if time.monotonic() > deadline:
                types = [item.headers.get("x-countersign-event-type") for item in got]
                raise AssertionError(f"the receiver got {len(got)} requests: {types}")
            time.sleep(0.05)
