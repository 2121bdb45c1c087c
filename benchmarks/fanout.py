"""Live delivery latency to N widgets, and idle widget connections one node holds.

    python benchmarks/fanout.py [--sizes 100,1000] [--rounds 50] [--idle 10000] [--check]
    python benchmarks/fanout.py --quick          # small numbers, a smoke test

Latency: one ``countersign serve`` (one worker, fresh SQLite data dir, 127.0.0.1, a
free port), one app, the same verified user identified N times: N widgets are N
sessions of one user (tabs, devices), which is what one notification fans out to. The
N WebSockets live in this process (uvloop when installed). Each round POSTs
``/v1/notifications`` with the send time (``time.monotonic()``, which on Linux is one
clock for every process) in ``data``; each widget records arrival minus send. A round
is complete when every widget has it; the next one starts ``--interval-ms`` after the
previous one was sent, or when it completes if that is later. Every widget also checks
its ``seq``: one more than the last, never a duplicate.

Idle: a second fresh server. ``--idle`` sockets over ``--idle / --sockets-per-session``
sessions of different users (a session may hold many streams; identifying 10,000 times
would only measure identify), every one waiting for ``ready``. The server's VmRSS is
read before (after a warm-up batch was opened and closed) and after, and the growth
divided by the count, and its CPU over ``--idle-window`` seconds of idleness. Then the
node must still answer: ``/healthz`` and a live notification to a sample of users,
which every socket of theirs must receive.

Besides the budgets it prints what explains them: the POST's own latency, the spread
of one round's arrivals, the server's CPU time per round (steadier than any latency on
a shared machine), the time and CPU it took to open the idle sockets.

The widgets offer permessage-deflate, as browsers do (``--compression none`` to not).
Budgets (SPEC section 9): p99 < 50 ms at N = 100; 10,000 idle connections at <= 64 KiB
each. ``--check`` exits 1 when over budget; a run that lost a delivery or a connection
exits 2 (so does a run whose open-file limit is too low for its sockets). The machine
is shared and has two cores, which this client shares with the server: the client's
own work is inside every figure (its garbage collector is off while it measures).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import math
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx2 as httpx  # the project declares httpx2 (httpx with the same API)
from processes import BenchmarkError, run_benchmark, stop, wait_until_up
from websockets.asyncio.client import ClientConnection, connect

from countersign import sign

T = TypeVar("T")

P99_BUDGET_MS = 50.0
P99_BUDGET_SIZE = 100
IDLE_BUDGET = 10_000
KIB_BUDGET = 64.0
ROUND_TIMEOUT_SECONDS = 5.0
POST_TIMEOUT_SECONDS = 30.0
OPEN_CONCURRENCY = 64
WARMUP_ROUNDS = 3


# The servers -------------------------------------------------------------------------


def raise_nofile() -> tuple[int, int]:
    """Raise this process's open-file limit to its hard limit; the servers inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Server:
    pid: int
    base: str
    api_key: str
    app_id: str
    secret: str


@contextlib.contextmanager
def running_server(name: str, work: Path, extra: list[str]) -> Iterator[Server]:
    """A fresh data dir, one app, ``countersign serve`` in its own process group until
    it answers; the whole group is stopped afterwards, whatever happened."""
    data_dir = work / f"{name}-data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUNTERSIGN_")}
    env["COUNTERSIGN_DATA_DIR"] = str(data_dir)
    created = subprocess.run(
        [sys.executable, "-m", "countersign", "apps", "create", "Fanout bench", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if created.returncode != 0:
        raise BenchmarkError(f"apps create failed: {created.stderr[-2000:]}")
    app = json.loads(created.stdout)
    port = free_port()
    command = [sys.executable, "-m", "countersign", "serve", "--data-dir", str(data_dir)]
    command += ["--port", str(port), "--log-level", "warning", *extra]
    log_path = work / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # its own group, so stopping it stops its children
        )
        try:
            wait_until_up(process, port, log_path)
            yield Server(
                process.pid,
                f"127.0.0.1:{port}",
                app["api_key"],
                app["app_id"],
                app["secret"],
            )
        finally:
            stop(process)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise BenchmarkError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


# The widgets ---------------------------------------------------------------------------


async def identify(http: httpx.AsyncClient, server: Server, user_id: str) -> str:
    body = {
        "app_id": server.app_id,
        "user_id": user_id,
        "user_hash": sign(server.secret, user_id),
    }
    response = await http.post(f"http://{server.base}/v1/widget/identify", json=body)
    if response.status_code != 200 or "session_token" not in response.text:
        raise BenchmarkError(f"identify failed: {response.status_code} {response.text[:300]}")
    return str(response.json()["session_token"])


async def bounded(jobs: list[Callable[[], Awaitable[T]]], concurrency: int) -> list[T]:
    """Run ``jobs`` at most ``concurrency`` at a time, results in order."""
    gate = asyncio.Semaphore(concurrency)

    async def one(job: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await job()

    return await asyncio.gather(*(one(job) for job in jobs))


async def open_widget(
    server: Server, token: str, compression: str | None
) -> tuple[ClientConnection, int]:
    """A connected widget past ``ready``: the socket and the ``seq`` it started at."""
    ws = await connect(
        f"ws://{server.base}/v1/widget/stream",
        compression=compression,
        # The server pings; the client's own keepalive would only add work here.
        ping_interval=None,
        open_timeout=60,
        close_timeout=2,
    )
    try:
        await ws.send(json.dumps({"token": token, "since": None}))
        ready = json.loads(await asyncio.wait_for(ws.recv(), 60))
        if ready.get("type") != "ready":
            raise BenchmarkError(f"expected ready, got {ready!r}")
    except BaseException:
        ws.transport.abort()
        raise
    return ws, int(ready["seq"])


def negotiated(ws: ClientConnection) -> str:
    """The extensions the server accepted (permessage-deflate or none)."""
    response = ws.response
    accepted = response.headers.get("Sec-WebSocket-Extensions") if response else None
    return accepted or "none"


def abort_all(sockets: list[ClientConnection]) -> None:
    # Dropping the TCP connections is instant; 10,000 closing handshakes are not.
    for ws in sockets:
        ws.transport.abort()


class Poster:
    """POSTs JSON over one keep-alive HTTP/1.1 connection, with as little client code
    between the send time and the wire as can be: the client shares the machine's two
    cores with the server, so its own overhead lands in every figure."""

    def __init__(self, server: Server, path: str) -> None:
        self._server = server
        self._path = path
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, document: dict[str, Any]) -> tuple[int, bytes]:
        if self._streams is None:
            host, _, port = self._server.base.partition(":")
            self._streams = await asyncio.open_connection(host, int(port))
        reader, writer = self._streams
        body = json.dumps(document).encode()
        head = (
            f"POST {self._path} HTTP/1.1\r\nHost: {self._server.base}\r\n"
            f"Authorization: Bearer {self._server.api_key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        writer.write(head.encode() + body)
        status_line, _, headers = (await reader.readuntil(b"\r\n\r\n")).partition(b"\r\n")
        length = 0
        for line in headers.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return int(status_line.split()[1]), await reader.readexactly(length)

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


# Latency ------------------------------------------------------------------------------


@dataclass
class LatencyResult:
    size: int
    rounds: int
    latencies_ms: list[float]
    post_ms: list[float]
    extensions: str
    spread_ms: list[float]  # arrival minus the round's first arrival: the fan-out alone
    server_cpu_ms: float  # the server's CPU time per round (POST and fan-out)
    lost_rounds: int
    missing: int
    order_errors: int

    def row(self) -> dict[str, float]:
        ordered = sorted(self.latencies_ms)
        posts = sorted(self.post_ms)
        spread = sorted(self.spread_ms)
        return {
            "spread_p99": percentile(spread, 0.99),
            "p50": percentile(ordered, 0.50),
            "p99": percentile(ordered, 0.99),
            "max": ordered[-1] if ordered else math.nan,
            "post_p50": percentile(posts, 0.50),
            "post_p99": percentile(posts, 0.99),
        }


class Widget:
    """One connected widget: records when each round arrives, checks ``seq``."""

    def __init__(self, ws: ClientConnection, seq: int, tracker: RoundTracker) -> None:
        self.ws = ws
        self.seq = seq
        self.tracker = tracker
        self.order_errors = 0

    async def listen(self) -> None:
        with contextlib.suppress(Exception):
            async for raw in self.ws:
                arrived = time.monotonic()
                event = json.loads(raw)
                if event.get("seq") != self.seq + 1:
                    self.order_errors += 1
                self.seq = max(self.seq, int(event.get("seq", 0)))
                data = event.get("data", {}).get("data", {})
                if event.get("type") == "notification.created" and "round" in data:
                    self.tracker.arrived(int(data["round"]), arrived - float(data["sent"]))


class RoundTracker:
    def __init__(self, size: int) -> None:
        self.size = size
        self.latencies: dict[int, list[float]] = {}
        self.complete: dict[int, asyncio.Event] = {}

    def start(self, round_no: int) -> asyncio.Event:
        self.latencies[round_no] = []
        self.complete[round_no] = asyncio.Event()
        return self.complete[round_no]

    def arrived(self, round_no: int, seconds: float) -> None:
        got = self.latencies.setdefault(round_no, [])
        got.append(seconds)
        if len(got) >= self.size and round_no in self.complete:
            self.complete[round_no].set()


async def measure_latency(server: Server, size: int, args: argparse.Namespace) -> LatencyResult:
    user = f"fanout-user-{size}"
    limits = httpx.Limits(max_connections=16)
    async with httpx.AsyncClient(limits=limits, timeout=30) as http:
        tokens = await bounded(
            [lambda: identify(http, server, user) for _ in range(size)], concurrency=16
        )
        opened = await bounded(
            [lambda t=t: open_widget(server, t, args.compression) for t in tokens],
            OPEN_CONCURRENCY,
        )
        tracker = RoundTracker(size)
        widgets = [Widget(ws, seq, tracker) for ws, seq in opened]
        listeners = [asyncio.create_task(w.listen()) for w in widgets]
        poster = Poster(server, "/v1/notifications")
        post_ms: list[float] = []
        lost = 0
        server_cpu = 0.0
        interval = args.interval_ms / 1000
        # This process's own full collections (a thousand sockets' worth of objects)
        # would be measured as delivery latency: none while measuring.
        gc.collect()
        gc.disable()
        try:
            next_send = time.monotonic()
            for round_no in range(-WARMUP_ROUNDS, args.rounds):
                await asyncio.sleep(max(0.0, next_send - time.monotonic()))
                complete = tracker.start(round_no)
                if round_no == 0:
                    server_cpu = cpu_seconds(server.pid)
                sent = time.monotonic()
                body = {
                    "user_id": user,
                    "title": f"round {round_no}",
                    "data": {"round": round_no, "sent": sent},
                }
                status, raw = await asyncio.wait_for(poster.post(body), POST_TIMEOUT_SECONDS)
                answered = time.monotonic()
                if status != 201:
                    raise BenchmarkError(f"notify: {status} {raw[:300]!r}")
                try:
                    await asyncio.wait_for(complete.wait(), ROUND_TIMEOUT_SECONDS)
                except TimeoutError:
                    if round_no >= 0:
                        lost += 1
                if round_no >= 0:
                    post_ms.append((answered - sent) * 1000)
                next_send = sent + interval
            server_cpu = cpu_seconds(server.pid) - server_cpu
        finally:
            gc.enable()
            poster.close()
            abort_all([w.ws for w in widgets])
            for task in listeners:
                task.cancel()
            await asyncio.gather(*listeners, return_exceptions=True)
    measured = [values for round_no, values in tracker.latencies.items() if round_no >= 0]
    latencies = [seconds * 1000 for values in measured for seconds in values]
    spread = [(seconds - min(values)) * 1000 for values in measured for seconds in values]
    return LatencyResult(
        size=size,
        rounds=args.rounds,
        latencies_ms=latencies,
        post_ms=post_ms,
        extensions=negotiated(widgets[0].ws) if widgets else "none",
        spread_ms=spread,
        server_cpu_ms=server_cpu * 1000 / max(1, args.rounds),
        lost_rounds=lost,
        missing=size * args.rounds - len(latencies),
        order_errors=sum(w.order_errors for w in widgets),
    )


# Idle capacity ------------------------------------------------------------------------


@dataclass
class IdleResult:
    wanted: int
    opened: int
    failures: int
    sessions: int
    open_seconds: float
    open_server_cpu: float
    open_client_cpu: float
    idle_server_cpu: float
    idle_window: float
    extensions: str
    rss_before_kib: int
    rss_after_kib: int
    fds_before: int
    fds_after: int
    health_ms: float
    sample_sockets: int
    sample_received: int
    first_failure: str

    @property
    def kib_per_connection(self) -> float:
        return (self.rss_after_kib - self.rss_before_kib) / max(1, self.opened)


async def measure_idle(server: Server, args: argparse.Namespace) -> IdleResult:
    per_session = max(1, args.sockets_per_session)
    sessions = math.ceil(args.idle / per_session)
    users = [f"idle-user-{n:05d}" for n in range(sessions)]
    limits = httpx.Limits(max_connections=16)
    async with httpx.AsyncClient(limits=limits, timeout=30) as http:
        tokens = await bounded(
            [lambda u=u: identify(http, server, u) for u in users], concurrency=16
        )
        # Warm-up: the first connections load code and fill allocator pools that every
        # later one reuses; opened and closed before the baseline is read.
        warm = await bounded(
            [lambda t=t: open_widget(server, t, args.compression) for t in tokens[:100]],
            OPEN_CONCURRENCY,
        )
        for ws, _ in warm:
            await ws.close()
        await asyncio.sleep(1.0)
        rss_before, fds_before = rss_kib(server.pid), open_fds(server.pid)

        owners = [n % sessions for n in range(args.idle)]
        started = time.monotonic()
        server_cpu, client_cpu = cpu_seconds(server.pid), own_cpu_seconds()
        outcomes = await bounded(
            [
                _attempt(lambda o=o: open_widget(server, tokens[o], args.compression))
                for o in owners
            ],
            OPEN_CONCURRENCY,
        )
        open_seconds = time.monotonic() - started
        server_cpu = cpu_seconds(server.pid) - server_cpu
        client_cpu = own_cpu_seconds() - client_cpu
        sockets: dict[int, list[ClientConnection]] = {}
        failures: list[str] = []
        for owner, outcome in zip(owners, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                failures.append(repr(outcome))
            else:
                sockets.setdefault(owner, []).append(outcome[0])
        opened = sum(len(group) for group in sockets.values())
        try:
            await asyncio.sleep(args.settle)
            rss_after, fds_after = rss_kib(server.pid), open_fds(server.pid)
            # Long enough to include a session sweep (15 s) and a keepalive ping (20 s).
            idle_cpu = cpu_seconds(server.pid)
            await asyncio.sleep(args.idle_window)
            idle_cpu = (cpu_seconds(server.pid) - idle_cpu) / args.idle_window

            asked = time.monotonic()
            health = await http.get(f"http://{server.base}/healthz")
            health_ms = (time.monotonic() - asked) * 1000
            if health.status_code != 200:
                raise BenchmarkError(f"/healthz answered {health.status_code}")
            sample_owners = list(sockets)[: args.sample_users]
            headers = {"Authorization": f"Bearer {server.api_key}"}
            for owner in sample_owners:
                body = {"user_id": users[owner], "title": "still there?"}
                response = await http.post(
                    f"http://{server.base}/v1/notifications", json=body, headers=headers
                )
                if response.status_code != 201:
                    raise BenchmarkError(f"notify: {response.status_code} {response.text[:300]}")
            sample = [ws for owner in sample_owners for ws in sockets[owner]]
            received = await asyncio.gather(*(_receives_notification(ws) for ws in sample))
        finally:
            abort_all([ws for group in sockets.values() for ws in group])
    return IdleResult(
        wanted=args.idle,
        opened=opened,
        failures=len(failures),
        sessions=sessions,
        open_seconds=open_seconds,
        open_server_cpu=server_cpu,
        open_client_cpu=client_cpu,
        idle_server_cpu=idle_cpu,
        idle_window=args.idle_window,
        extensions=next((negotiated(g[0]) for g in sockets.values() if g), "none"),
        rss_before_kib=rss_before,
        rss_after_kib=rss_after,
        fds_before=fds_before,
        fds_after=fds_after,
        health_ms=health_ms,
        sample_sockets=len(sample),
        sample_received=sum(received),
        first_failure=failures[0] if failures else "",
    )


def _attempt(
    work: Callable[[], Awaitable[tuple[ClientConnection, int]]],
) -> Callable[[], Awaitable[tuple[ClientConnection, int] | BaseException]]:
    """``work`` as a job whose failure is counted, not raised: one refused socket
    should not hide how many the node did hold."""

    async def run() -> tuple[ClientConnection, int] | BaseException:
        try:
            return await work()
        except Exception as error:
            return error

    return run


async def _receives_notification(ws: ClientConnection) -> bool:
    try:
        event = json.loads(await asyncio.wait_for(ws.recv(), ROUND_TIMEOUT_SECONDS))
    except Exception:
        return False
    return bool(event.get("type") == "notification.created")


# Report -------------------------------------------------------------------------------


def print_latency(results: list[LatencyResult], args: argparse.Namespace) -> tuple[bool, bool]:
    """The latency table; returns (valid, within budget)."""
    print(
        f"\nLatency: POST /v1/notifications -> arrival on N widgets of one user, "
        f"{args.rounds} rounds (+{WARMUP_ROUNDS} warm-up) every {args.interval_ms:g} ms"
    )
    print(
        f"{'N':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'POST p50':>9} {'POST p99':>9} "
        f"{'spread p99':>11} {'CPU/round':>10} {'lost':>5} {'missing':>8} {'order':>6}"
    )
    valid, within = True, True
    for r in results:
        row = r.row()
        print(
            f"{r.size:6d} {row['p50']:8.2f} {row['p99']:8.2f} {row['max']:8.2f} "
            f"{row['post_p50']:9.2f} {row['post_p99']:9.2f} {row['spread_p99']:11.2f} "
            f"{r.server_cpu_ms:10.2f} {r.lost_rounds:5d} "
            f"{r.missing:8d} {r.order_errors:6d}"
        )
        if r.lost_rounds or r.missing or r.order_errors:
            valid = False
        if r.size == P99_BUDGET_SIZE:
            ok = row["p99"] < P99_BUDGET_MS
            within = within and ok
            print(
                f"verdict: p99 at N = {r.size}: {row['p99']:.2f} ms "
                f"(budget < {P99_BUDGET_MS:g} ms): {_ok(ok)}"
            )
    accepted = sorted({r.extensions for r in results})
    print(f"WebSocket extensions the server accepted: {', '.join(accepted)}")
    if P99_BUDGET_SIZE not in [r.size for r in results]:
        print(f"verdict: p99 budget is for N = {P99_BUDGET_SIZE}: not measured in this run")
    return valid, within


def print_idle(r: IdleResult) -> tuple[bool, bool]:
    print(
        f"\nIdle: {r.wanted} widget sockets over {r.sessions} sessions of different users, "
        f"opened {OPEN_CONCURRENCY} at a time"
    )
    print(
        f"opened {r.opened}/{r.wanted} in {r.open_seconds:.1f} s ({r.failures} failed), "
        f"CPU server {r.open_server_cpu:.1f} s, client {r.open_client_cpu:.1f} s; "
        f"server fds {r.fds_before} -> {r.fds_after}"
    )
    print(
        f"server VmRSS {r.rss_before_kib / 1024:.1f} MiB -> {r.rss_after_kib / 1024:.1f} MiB: "
        f"{r.kib_per_connection:.1f} KiB per connection (extensions accepted: {r.extensions})"
    )
    print(
        f"server CPU while idle: {r.idle_server_cpu * 100:.1f}% of a core "
        f"(over {r.idle_window:g} s)"
    )
    print(
        f"then: /healthz in {r.health_ms:.1f} ms; a live notification reached "
        f"{r.sample_received}/{r.sample_sockets} sockets of the sampled users"
    )
    if r.first_failure:
        print(f"first failure: {r.first_failure}")
    valid = r.failures == 0 and r.sample_received == r.sample_sockets
    if r.wanted >= IDLE_BUDGET:
        ok = r.opened >= IDLE_BUDGET and r.kib_per_connection <= KIB_BUDGET
        print(
            f"verdict: {r.opened} idle connections at {r.kib_per_connection:.1f} KiB each "
            f"(budget {IDLE_BUDGET} at <= {KIB_BUDGET:g} KiB): {_ok(ok)}"
        )
    else:
        ok = True
        print(f"verdict: the idle budget is for {IDLE_BUDGET} connections: not measured")
    return valid, ok


def _ok(flag: bool) -> str:
    return "ok" if flag else "OVER"


def run_async(work: Awaitable[T]) -> T:
    """Run on uvloop when it is installed: with thousands of sockets in this process,
    the client's loop would otherwise be what is measured."""
    try:
        import uvloop  # noqa: PLC0415
    except ImportError:
        return asyncio.run(work)  # type: ignore[arg-type]
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(work)  # type: ignore[arg-type]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # None: the full run's value, or --quick's.
    parser.add_argument("--sizes", help="widget counts, comma-separated (100,1000)")
    parser.add_argument("--rounds", type=int, help="measured notifications per N (50)")
    parser.add_argument("--interval-ms", type=float, default=50.0, help="pace between rounds")
    parser.add_argument("--idle", type=int, help=f"idle sockets, 0 to skip ({IDLE_BUDGET})")
    parser.add_argument("--sockets-per-session", type=int, default=20)
    parser.add_argument("--sample-users", type=int, help="users notified at idle (20)")
    parser.add_argument("--settle", type=float, help="seconds before reading RSS (3)")
    parser.add_argument("--idle-window", type=float, help="seconds of idle CPU measured (21)")
    parser.add_argument(
        "--compression",
        choices=["deflate", "none"],
        default="deflate",
        help="what the widgets offer (browsers offer deflate)",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when over budget")
    parser.add_argument("--quick", action="store_true", help="small numbers: a smoke test")
    parser.add_argument("--keep", action="store_true", help="keep the data dirs and logs")
    parser.add_argument(
        "--serve-arg", action="append", default=[], help="extra `countersign serve` argument"
    )
    args = parser.parse_args()
    defaults: dict[str, Any] = {
        "sizes": "100,1000",
        "rounds": 50,
        "idle": IDLE_BUDGET,
        "sample_users": 20,
        "settle": 3.0,
        "idle_window": 21.0,
    }
    if args.quick:
        defaults = {
            "sizes": "10,50",
            "rounds": 10,
            "idle": 300,
            "sample_users": 5,
            "settle": 0.5,
            "idle_window": 1.0,
        }
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.sizes = [int(part) for part in str(args.sizes).split(",") if part.strip()]
    args.compression = None if args.compression == "none" else args.compression
    return args


def main() -> int:
    args = parse_args()
    soft, hard = raise_nofile()
    needed = max([*args.sizes, args.idle]) + 200
    print(
        f"RLIMIT_NOFILE raised to {soft} (hard {hard}) here and, inherited, in the servers; "
        f"one uvicorn worker, SQLite, 127.0.0.1, widgets offer "
        f"{args.compression or 'no compression'}"
    )
    if soft < needed:
        print(f"benchmark failed: {needed} sockets need RLIMIT_NOFILE >= {needed}", file=sys.stderr)
        return 2
    return run_benchmark(
        "countersign-fanout-",
        lambda work: run(work, args),
        keep=args.keep,
        check=args.check,
        invalid="a delivery or a connection was lost (see above)",
    )


def run(work: Path, args: argparse.Namespace) -> tuple[bool, bool]:
    """The latency part, then the idle part, in ``work``: (valid, within budget)."""
    valid, within = True, True
    if args.sizes:
        with running_server("latency", work, args.serve_arg) as server:
            print(f"latency server pid {server.pid}", file=sys.stderr)
            results = [run_async(measure_latency(server, n, args)) for n in args.sizes]
        ok_valid, ok_within = print_latency(results, args)
        valid, within = valid and ok_valid, within and ok_within
    if args.idle:
        with running_server("idle", work, args.serve_arg) as server:
            print(f"idle server pid {server.pid}", file=sys.stderr)
            idle = run_async(measure_idle(server, args))
        ok_valid, ok_within = print_idle(idle)
        valid, within = valid and ok_valid, within and ok_within
    return valid, within


if __name__ == "__main__":
    sys.exit(main())
