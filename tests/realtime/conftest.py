"""Real ``countersign serve`` processes (and a private ``redis-server``) for the live
delivery tests, with the widget and server-API calls they share.

Every wait is bounded: a process that does not come up, a socket that stays silent, a
request that hangs, all fail the test within seconds instead of hanging the run. Every
process started here is killed at teardown, every socket and client closed.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx2
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from countersign import sign
from countersign.context import open_backend
from countersign.settings import load_settings
from countersign.storage import apps
from tests.conftest import REDIS_SERVER, _unavailable

START_TIMEOUT = 30.0  # python start-up + migrations, on a busy 2-core machine
STOP_TIMEOUT = 5.0
CLI_TIMEOUT = 30.0
HTTP_TIMEOUT = 10.0
WS_TIMEOUT = 5.0


def free_port() -> int:
    """A TCP port nobody listens on right now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def new_master_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# Processes -----------------------------------------------------------------------


@dataclass
class ServerNode:
    """One ``countersign serve`` process on a port of its own."""

    name: str
    port: int
    args: list[str]
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None
    _http: httpx2.Client | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/widget/stream"

    @property
    def http(self) -> httpx2.Client:
        """An HTTP client for this node (a new one after each restart)."""
        if self._http is None:
            self._http = httpx2.Client(base_url=self.url, timeout=HTTP_TIMEOUT, trust_env=False)
        return self._http

    def start(self) -> None:
        assert self.process is None, f"{self.name} is already running"
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [*self.args, "--port", str(self.port)],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Until ``/readyz`` answers 200; fails with the log if the process dies."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        with httpx2.Client(base_url=self.url, timeout=1.0, trust_env=False) as probe:
            while True:
                if self.process.poll() is not None:
                    pytest.fail(
                        f"{self.name} exited with {self.process.returncode}:\n"
                        + _tail(self.log_path)
                    )
                with contextlib.suppress(httpx2.HTTPError):
                    if probe.get("/readyz").status_code == 200:
                        return
                if time.monotonic() > deadline:
                    pytest.fail(f"{self.name} not ready in {timeout}s:\n" + _tail(self.log_path))
                time.sleep(0.05)

    def kill(self) -> None:
        """``kill -9``: no shutdown hook runs. ``start`` brings it back on the same port."""
        if self._http is not None:
            self._http.close()
            self._http = None
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait(STOP_TIMEOUT)
            self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None


@dataclass(frozen=True)
class CreatedApp:
    app_id: str
    secret: str
    api_key: str

    def api_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


@dataclass
class Servers:
    """Starts ``countersign`` processes that share one master key (so nodes on one
    PostgreSQL can open each other's sealed secrets)."""

    root: Path
    master_key: str = field(default_factory=new_master_key)
    nodes: list[ServerNode] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COUNTERSIGN_")}
        env["COUNTERSIGN_MASTER_KEY"] = self.master_key
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def _location(self, data_dir: Path, database_url: str | None) -> list[str]:
        args = ["--data-dir", str(data_dir)]
        return [*args, "--database-url", database_url] if database_url else args

    def cli(self, *args: str) -> str:
        """``countersign ARGS`` in a subprocess; its stdout (fails on a non-zero exit)."""
        done = subprocess.run(
            [sys.executable, "-m", "countersign", *args],
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
            check=False,
        )
        assert done.returncode == 0, f"countersign {' '.join(args)}:\n{done.stderr}"
        return done.stdout

    def create_app(
        self, data_dir: Path, database_url: str | None = None, name: str = "Acme"
    ) -> CreatedApp:
        """A new app, as ``countersign apps create --json`` makes it (migrating the
        database first), but in this process: a Python start-up saved per test."""
        settings = load_settings(
            environ={"COUNTERSIGN_MASTER_KEY": self.master_key},
            data_dir=data_dir,
            database_url=database_url,
        )
        backend = open_backend(settings)
        try:
            created = backend.database.run_sync(lambda c: apps.create_app(c, backend.box, name))
        finally:
            backend.close()
        return CreatedApp(created.app.id, created.secret, created.api_key)

    def set_policy(
        self, app: CreatedApp, data_dir: Path, database_url: str | None, *options: str
    ) -> None:
        self.cli("apps", "set", app.app_id, *options, *self._location(data_dir, database_url))

    def start(
        self,
        name: str,
        *,
        data_dir: Path,
        database_url: str | None = None,
        redis_url: str | None = None,
        wait: bool = True,
        extra_args: Sequence[str] = (),
    ) -> ServerNode:
        args = [sys.executable, "-m", "countersign", "serve", "--log-level", "info"]
        args += [*self._location(data_dir, database_url), *extra_args]
        if redis_url:
            args += ["--redis-url", redis_url]
        node = ServerNode(name, free_port(), args, self.env, self.root / f"{name}.log")
        self.nodes.append(node)
        node.start()
        if wait:
            node.wait_ready()
        return node

    def close(self) -> None:
        for node in self.nodes:
            node.kill()


def two_nodes(
    servers: Servers,
    data_dir: Path,
    database_url: str,
    redis_url: str,
    extra_args: Sequence[str] = (),
) -> tuple[CreatedApp, ServerNode, ServerNode]:
    """An app, and two nodes on one database and Redis (both ready), each started with
    ``extra_args`` too."""
    app = servers.create_app(data_dir, database_url)  # migrates the schema first
    a, b = (
        servers.start(
            name,
            data_dir=data_dir,
            database_url=database_url,
            redis_url=redis_url,
            wait=False,
            extra_args=extra_args,
        )
        for name in ("node-a", "node-b")
    )
    a.wait_ready()
    b.wait_ready()
    return app, a, b


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    pool = Servers(tmp_path)
    try:
        yield pool
    finally:
        pool.close()
        for node in pool.nodes:  # shown by pytest when the test failed
            print(f"--- the end of {node.name}'s log ---\n{_tail(node.log_path)}")


# Redis ---------------------------------------------------------------------------


def redis_answers(url: str, timeout: float = 2.0) -> Exception | None:
    """``None`` when Redis at ``url`` answers PING, else the error."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        client.ping()
    except redis.RedisError as error:
        return error
    finally:
        client.close()
    return None


@pytest.fixture
def shared_redis() -> str:
    """The machine's Redis (fails in CI, skips elsewhere, when it does not answer)."""
    error = redis_answers(REDIS_SERVER)
    if error is not None:
        _unavailable("Redis at " + REDIS_SERVER, error)
    return REDIS_SERVER


@dataclass
class RedisProcess:
    """A private ``redis-server`` that a test may kill and bring back on the same port."""

    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        assert self.process is None
        binary = shutil.which("redis-server")
        assert binary is not None
        self.process = subprocess.Popen(
            [
                binary,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--logfile", str(self.log_path),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while redis_answers(self.url, timeout=0.5) is not None:
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("redis-server did not start:\n" + _tail(self.log_path))
            time.sleep(0.05)

    def kill(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()  # SIGKILL ends a stopped (paused) process too
            self.process.wait(STOP_TIMEOUT)
            self.process = None

    def pause(self) -> None:
        """SIGSTOP: connections still open and accept, nothing answers (a hung or
        overloaded Redis, as a client sees it)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    if shutil.which("redis-server") is None:
        _unavailable("redis-server", FileNotFoundError("not on PATH"))
    server = RedisProcess(free_port(), tmp_path / "redis.log")
    server.start()
    try:
        yield server
    finally:
        server.kill()


# The widget ----------------------------------------------------------------------


def identify(
    node: ServerNode,
    app: CreatedApp,
    user_id: str | None = None,
    *,
    user_hash: str | None = None,
    visitor_id: str | None = None,
    expect: int = 200,
) -> dict[str, Any]:
    """``POST /v1/widget/identify``; signs ``user_id`` with the app's secret unless a
    ``user_hash`` is given. Asserts the status."""
    body: dict[str, Any] = {"app_id": app.app_id}
    if visitor_id is not None:
        body["visitor_id"] = visitor_id
    if user_id is not None:
        body["user_id"] = user_id
        body["user_hash"] = user_hash if user_hash is not None else sign(app.secret, user_id)
    response = node.http.post("/v1/widget/identify", json=body)
    assert response.status_code == expect, response.text
    document: dict[str, Any] = response.json()
    return document


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@contextlib.contextmanager
def stream(
    node_or_url: ServerNode | str, token: str, since: int | None = None
) -> Iterator[tuple[ClientConnection, int]]:
    """An open widget stream and the ``seq`` of its ready message."""
    url = node_or_url if isinstance(node_or_url, str) else node_or_url.ws_url
    with connect(
        url, open_timeout=WS_TIMEOUT, close_timeout=2, proxy=None, legacy=True
    ) as websocket:
        websocket.send(json.dumps({"token": token, "since": since}))
        ready = json.loads(websocket.recv(timeout=WS_TIMEOUT))
        assert ready["type"] == "ready", ready
        yield websocket, int(ready["seq"])


def receive(
    websocket: ClientConnection,
    until: Callable[[list[dict[str, Any]]], bool],
    timeout: float = WS_TIMEOUT,
) -> list[dict[str, Any]]:
    """Events from ``websocket`` until ``until(events)`` holds; fails after ``timeout``."""
    events: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while not until(events):
        left = deadline - time.monotonic()
        try:
            if left <= 0:
                raise TimeoutError
            events.append(json.loads(websocket.recv(timeout=left)))
        except TimeoutError:
            seqs = [event.get("seq") for event in events]
            pytest.fail(f"only {len(events)} events in {timeout}s; seqs {seqs[:3]}…{seqs[-3:]}")
    return events


def receive_count(
    websocket: ClientConnection, count: int, timeout: float = WS_TIMEOUT
) -> list[dict[str, Any]]:
    return receive(websocket, lambda events: len(events) >= count, timeout)


def silent_for(websocket: ClientConnection, seconds: float) -> list[dict[str, Any]]:
    """Whatever arrives within ``seconds`` (expected: nothing)."""
    extra: list[dict[str, Any]] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            extra.append(json.loads(websocket.recv(timeout=left)))
        except TimeoutError:
            break
    return extra


def close_code(websocket: ClientConnection, timeout: float) -> int | None:
    """The code the server closes with, reading (and dropping) events until then."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            websocket.recv(timeout=left)
        except TimeoutError:
            break
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd is not None else None
    pytest.fail(f"the server did not close the stream within {timeout}s")


def contiguous(events: list[dict[str, Any]], after: int) -> bool:
    """``seq`` runs after+1, after+2, … with no gap and no repeat."""
    return [event["seq"] for event in events] == list(range(after + 1, after + 1 + len(events)))
