"""A real HTTP server on 127.0.0.1 that records what it receives, for outbound tests.

Paths choose the answer: ``/sleep/<seconds>``, ``/big/<bytes>``, ``/status/<code>``,
``/redirect`` (302 to ``/echo``), ``/json/<text>`` (that text as JSON); anything else
answers 200 with a JSON summary of the request.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import unquote


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    client: str


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    received: list[Received]

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (timeout tests) is expected, not noise


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _record(self) -> Received:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        received = Received(
            self.command,
            self.path,
            {name.lower(): value for name, value in self.headers.items()},
            body,
            self.client_address[0],
        )
        self.server.received.append(received)
        return received

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _answer(self) -> None:
        received = self._record()
        parts = self.path.split("?")[0].strip("/").split("/", 1)
        kind, argument = parts[0], parts[1] if len(parts) > 1 else ""
        if kind == "sleep":
            time.sleep(float(argument))
            self._send(200, b'{"slept": true}')
        elif kind == "big":
            size = int(argument)
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self.send_header("Connection", "close")
            self.end_headers()
            chunk = b"x" * 65536
            try:
                while size > 0:
                    self.wfile.write(chunk[:size])
                    size -= len(chunk)
            except OSError:
                pass  # the client stopped reading, as it should
        elif kind == "status":
            self._send(int(argument), b'{"error": "internal details: db password is hunter2"}')
        elif kind == "redirect":
            self._send(302, b"", {"Location": "/echo"})
        elif kind == "json":
            self._send(200, unquote(argument).encode())
        else:
            summary = {"method": received.method, "host": received.headers.get("host")}
            self._send(200, json.dumps(summary).encode())

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer


class Receiver:
    """``with Receiver() as receiver:`` -- ``receiver.url(path)``, ``receiver.received``."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.received = []
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.scheme = "http" if tls is None else "https"
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def received(self) -> list[Received]:
        return self._server.received

    def url(self, path: str = "/echo", host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
