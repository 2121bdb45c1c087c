"""The widget's hot paths, each as a ratio to a bare ASGI app measured in the same run.

    python benchmarks/identify.py [--seconds 10] [--connections 64] [--case all] [--check]

Cases (SPEC section 9):
- ``first``: ``POST /v1/widget/identify`` with no ``visitor_id``, each request naming
  a different user (``--users`` of them, cycled) with a valid hash: it verifies,
  upserts a verified contact, creates a visitor and opens a session.
- ``returning``: the same route from browsers that come back: each sends the
  ``visitor_id`` and session token its first identify gave it (``--returning`` users).
- ``read``: ``GET /v1/widget/conversations`` with a session whose user has none.
- ``read20``: the same read for users with 20 conversations each.
- ``inbox``: ``GET /v1/widget/notifications`` with the ``read`` sessions (none sent).

Both servers run on 127.0.0.1 under the same settings and are driven by the same wrk
Lua script with the same requests: ``countersign serve`` on a fresh SQLite data dir
with one app, and ``benchmarks/bare_app.py``, which reads the body and answers
``{"ok":true}``. By default both run on uvicorn (one worker, httptools, uvloop, no
access log); ``--server granian`` runs both on granian (one worker, one runtime
thread, uvloop), and ``--server uvicorn --server granian`` measures each in turn, on
fresh data, and compares the product's req/s on the two. The Lua script counts
responses that are not 200 or lack the case's expected text; a run with any of those,
or with socket errors, is reported INVALID (exit 2).

Budgets: first >= 0.25 x bare, returning >= 0.40 x, both with p99 < 10 ms at 64
connections; read and inbox >= 0.30 x; read20 within 2 x of read (ratio >= read's / 2).
``--check`` exits 1 when over budget. The machine is shared and has two cores (wrk
takes one of them), so only the ratios of one run mean anything. The ``cpu us/req``
column (the server process's CPU time over the requests it answered) moves much less
with other load on the machine than req/s does: use it to tell whether a change helped.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib.util
import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from processes import BenchmarkError, run_benchmark, stop, wait_until_up
from sqlalchemy import Connection

from countersign import messaging, sign
from countersign.context import open_backend
from countersign.settings import load_settings
from countersign.storage import apps, contacts
from countersign.storage.conversations import Draft
from countersign.vocabulary.clock import utcnow

HERE = Path(__file__).resolve().parent
P99_BUDGET_MS = 10.0
IDENTIFY_PATH = "/v1/widget/identify"
READ_PATH = "/v1/widget/conversations"
INBOX_PATH = "/v1/widget/notifications"
# msgspec writes the identity object in this order; a 200 without it is not a success.
IDENTIFY_EXPECT = '"identity":{"status":"verified"'
BARE_EXPECT = '"ok":true'
CONVERSATIONS_PER_BUSY_USER = 20


@dataclass(frozen=True)
class Case:
    name: str
    path: str
    expect: str
    ratio_budget: float  # of the bare app's req/s (read20: computed from read's ratio)
    p99_budget_ms: float | None


CASES = {
    "first": Case("first", IDENTIFY_PATH, IDENTIFY_EXPECT, 0.25, P99_BUDGET_MS),
    "returning": Case("returning", IDENTIFY_PATH, IDENTIFY_EXPECT, 0.40, P99_BUDGET_MS),
    "read": Case("read", READ_PATH, '"data":[', 0.30, None),
    "read20": Case("read20", READ_PATH, '"data":[{', 0.15, None),
    "inbox": Case("inbox", INBOX_PATH, '"data":[', 0.30, None),
}
#: Each server runs one worker, both apps on the same settings (SPEC 9: the bare app
#: is always measured on the server the product runs on).
SERVERS = ("uvicorn", "granian")
SERVING_APP = "countersign.cli.serve:serving_app"  # the factory `countersign serve` runs
GRANIAN_FLAGS = [
    "--interface",
    "asgi",
    "--workers",
    "1",
    # One Rust I/O thread beside the Python one: wrk has the other core.
    "--runtime-threads",
    "1",
    "--loop",
    "uvloop",
    "--no-access-log",
    "--log-level",
    "warning",
]
UVICORN_FLAGS = [
    "--http",
    "httptools",
    "--loop",
    "uvloop",
    "--no-access-log",
    "--log-level",
    "warning",
]

# One prepared request per line, split between wrk's threads; each thread cycles
# through its share, so consecutive requests name different users. done() prints one
# machine-readable line (latency in microseconds) plus the first bad response.
LUA_SCRIPT = r"""
local threads = {}
local created = 0

function setup(thread)
  thread:set("thread_index", created)
  created = created + 1
  table.insert(threads, thread)
end

function init(args)
  local path, target, nthreads = args[1], args[2], tonumber(args[4])
  expected = args[3]
  prepared = {}
  local n = 0
  for line in io.lines(path) do
    if n % nthreads == thread_index then
      -- METHOD <tab> Authorization value (may be empty) <tab> body (may be empty)
      local method, auth, body = string.match(line, "^([^\t]*)\t([^\t]*)\t(.*)$")
      local headers = { ["Content-Type"] = "application/json" }
      if auth ~= "" then headers["Authorization"] = auth end
      if body == "" then body = nil end
      prepared[#prepared + 1] = wrk.format(method, target, headers, body)
    end
    n = n + 1
  end
  position = 0
  bad_status = 0
  unexpected = 0
  sample = ""
end

function request()
  position = position + 1
  if position > #prepared then position = 1 end
  return prepared[position]
end

function response(status, headers, body)
  if status ~= 200 then
    bad_status = bad_status + 1
    if sample == "" then sample = status .. " " .. body end
  elseif not string.find(body, expected, 1, true) then
    unexpected = unexpected + 1
    if sample == "" then sample = "200 " .. body end
  end
end

function done(summary, latency, requests)
  local bad, odd, first = 0, 0, ""
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("bad_status")
    odd = odd + thread:get("unexpected")
    local seen = thread:get("sample")
    if first == "" and seen ~= nil then first = seen end
  end
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%.0f duration_us=%.0f p50_us=%.0f p99_us=%.0f non200=%.0f "
      .. "unexpected=%.0f socket_errors=%.0f\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    bad, odd, e.connect + e.read + e.write + e.timeout))
  if first ~= "" then
    io.write("BENCH_SAMPLE " .. string.gsub(string.sub(first, 1, 300), "\n", " ") .. "\n")
  end
end
"""


@dataclass(frozen=True)
class Result:
    name: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    non200: int
    unexpected: int
    socket_errors: int
    sample: str
    cpu_seconds: float = 0.0  # the server process's CPU time during the measured run

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_us(self) -> float:
        """Server CPU per request: unlike req/s, barely moved by other load on the
        machine, so it shows where a change helped even on a busy day."""
        return self.cpu_seconds / self.requests * 1e6 if self.requests else 0.0

    @property
    def valid(self) -> bool:
        return self.requests > 0 and not (self.non200 or self.unexpected or self.socket_errors)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def post(url: str, body: bytes, timeout: float = 5.0) -> tuple[int, bytes]:
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@contextlib.contextmanager
def server(
    name: str, command: list[str], port: int, log_dir: Path, env: dict[str, str]
) -> Iterator[int]:
    """Run ``command`` in its own process group until it answers on ``port``; yield its
    pid; stop the whole group afterwards, whatever happened."""
    log_path = log_dir / f"{name}.log"
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
            yield process.pid
        finally:
            stop(process)


def run_wrk(
    name: str, url: str, script: Path, bodies: Path, expect: str, args: argparse.Namespace
) -> Result:
    threads = 2
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{args.connections}",
        f"-d{args.seconds}s",
        "--timeout",
        "5s",
        "--latency",
        "-s",
        str(script),
        url,
        "--",
        str(bodies),
        urllib.parse.urlsplit(url).path,
        expect,
        str(threads),
    ]
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=args.seconds + 60, check=False
    )
    if args.verbose:
        print(completed.stdout, completed.stderr, sep="\n")
    line = next((x for x in completed.stdout.splitlines() if x.startswith("BENCH ")), None)
    if completed.returncode != 0 or line is None:
        raise BenchmarkError(f"wrk failed ({completed.returncode}):\n{completed.stderr}")
    fields = dict(part.split("=", 1) for part in line.split()[1:])
    sample = next(
        (
            x[len("BENCH_SAMPLE ") :]
            for x in completed.stdout.splitlines()
            if x.startswith("BENCH_SAMPLE ")
        ),
        "",
    )
    return Result(
        name=name,
        requests=int(fields["requests"]),
        seconds=int(fields["duration_us"]) / 1e6,
        p50_ms=int(fields["p50_us"]) / 1e3,
        p99_ms=int(fields["p99_us"]) / 1e3,
        non200=int(fields["non200"]),
        unexpected=int(fields["unexpected"]),
        socket_errors=int(fields["socket_errors"]),
        sample=sample,
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid``, its threads and its living child
    processes (granian serves from a worker process of its own) on Linux, else 0."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(cpu_seconds(int(child)) for child in children)


def measure(
    name: str,
    pid: int,
    url: str,
    script: Path,
    bodies: Path,
    expect: str,
    args: argparse.Namespace,
    profile_as: str | None = None,
) -> Result:
    """A warm-up run (it fills the app cache, the connection and SQLite's page cache),
    then the measured run, with the server's CPU time taken around it."""
    if args.warmup > 0:  # --warmup 0: none (the smoke test's short runs)
        warm = argparse.Namespace(**{**vars(args), "seconds": args.warmup, "verbose": False})
        warmed = run_wrk(name, url, script, bodies, expect, warm)
        if not warmed.valid:
            return warmed
    before = cpu_seconds(pid)
    with profiled(pid, profile_as, args):
        result = run_wrk(name, url, script, bodies, expect, args)
    return dataclasses.replace(result, cpu_seconds=cpu_seconds(pid) - before)


@contextlib.contextmanager
def profiled(pid: int, case: str | None, args: argparse.Namespace) -> Iterator[None]:
    """With ``--profile DIR``, py-spy samples the countersign server through the measured
    run into DIR/<case>.txt (collapsed stacks: one line per stack, its sample count
    last; flamegraph.pl and speedscope read it). Sampling costs the server a little, so
    a profiled run's figures are for reading the profile, not for the budgets."""
    if args.profile is None or case is None:
        yield
        return
    args.profile.mkdir(parents=True, exist_ok=True)
    output = args.profile / f"{case}.txt"
    command = ["py-spy", "record", "--pid", str(pid), "--format", "raw", "--rate", "200"]
    command += ["--duration", str(args.seconds), "--nonblocking", "--output", str(output)]
    spy = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        spy.wait(timeout=args.seconds + 30)
        print(f"profile of {case}: {output}", file=sys.stderr)


def create_app(data_dir: Path, busy_users: list[str]) -> dict[str, str]:
    """The app, and ``busy_users`` with their conversations waiting for them."""
    backend = open_backend(load_settings(environ={}, data_dir=data_dir))
    try:
        created = backend.database.run_sync(lambda c: apps.create_app(c, backend.box, "Bench"))
        app_id = created.app.id

        def conversations_of(connection: Connection) -> None:
            now = utcnow()
            for user_id in busy_users:
                contact_id = contacts.ensure_verified_contact(connection, app_id, user_id, now)
                for n in range(CONVERSATIONS_PER_BUSY_USER):
                    conversation, _ = messaging.start_conversation(
                        connection, app_id, contact_id, now
                    )
                    messaging.post_message(
                        connection,
                        app_id=app_id,
                        contact_id=contact_id,
                        conversation_id=conversation["id"],
                        draft=Draft("operator", "Grace", f"Hello number {n}"),
                        now=now,
                    )

        backend.database.run_sync(conversations_of)
    finally:
        backend.close()
    return {"app_id": app_id, "secret": created.secret}


def check_identify(url: str, app: dict[str, str]) -> None:
    """One good and one bad request by hand, so the run is known to verify for real."""
    user = "bench-sample-user"
    good = {"app_id": app["app_id"], "user_id": user, "user_hash": sign(app["secret"], user)}
    status, raw = post(url, json.dumps(good).encode())
    document: dict[str, Any] = json.loads(raw) if status == 200 else {}
    if status != 200 or document.get("identity", {}).get("status") != "verified":
        raise BenchmarkError(f"a valid identify did not verify: {status} {raw[:300]!r}")
    if not document.get("contact", {}).get("verified") or not document.get("session_token"):
        raise BenchmarkError(f"a verified identify returned no contact or session: {raw!r}")
    if IDENTIFY_EXPECT not in raw.decode():
        raise BenchmarkError(f"the response does not contain {IDENTIFY_EXPECT!r}: {raw!r}")
    bad = {**good, "user_hash": sign(app["secret"], user + "x")}
    status, raw = post(url, json.dumps(bad).encode())
    if status != 401:
        raise BenchmarkError(f"a wrong hash was not refused: {status} {raw[:300]!r}")


def _line(method: str, authorization: str, body: dict[str, Any] | None) -> str:
    text = "" if body is None else json.dumps(body, separators=(",", ":"))
    return f"{method}\t{authorization}\t{text}\n"


def _identify_body(app: dict[str, str], user_id: str) -> dict[str, Any]:
    return {"app_id": app["app_id"], "user_id": user_id, "user_hash": sign(app["secret"], user_id)}


def first_visits(work: Path, app: dict[str, str], users: int) -> Path:
    requests = work / "first.tsv"
    with requests.open("w") as out:
        for n in range(users):
            out.write(_line("POST", "", _identify_body(app, f"bench-user-{n:06d}")))
    return requests


def returning_visits(
    work: Path, url: str, app: dict[str, str], name: str, user_ids: list[str]
) -> tuple[Path, Path]:
    """Identify each user once for real; the requests of their browsers coming back
    (identify with their visitor id and token) and of their reads (the token)."""
    returning, reads = work / f"{name}-returning.tsv", work / f"{name}-read.tsv"
    with returning.open("w") as again, reads.open("w") as read:
        for user_id in user_ids:
            body = _identify_body(app, user_id)
            status, raw = post(url + IDENTIFY_PATH, json.dumps(body).encode())
            if status != 200:
                raise BenchmarkError(f"setting up {user_id} failed: {status} {raw[:300]!r}")
            document = json.loads(raw)
            bearer = "Bearer " + document["session_token"]
            again.write(_line("POST", bearer, {**body, "visitor_id": document["visitor_id"]}))
            read.write(_line("GET", bearer, None))
    return returning, reads


def clean_environment(data_dir: Path) -> dict[str, str]:
    """The caller's environment without COUNTERSIGN_* (so SQLite in ``data_dir`` is
    used, whatever database the shell points at)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUNTERSIGN_")}
    env["COUNTERSIGN_DATA_DIR"] = str(data_dir)
    return env


SERVER_SETTINGS = {
    "uvicorn": "one uvicorn worker (httptools, uvloop, no access log)",
    "granian": "one granian worker (one runtime thread, uvloop, no access log)",
}


def print_table(
    pairs: list[tuple[Case, Result, Result]], args: argparse.Namespace, server_name: str
) -> tuple[bool, bool]:
    """The table and verdicts; returns (valid, within budget)."""
    print(f"wrk -t2 -c{args.connections} -d{args.seconds}s, {SERVER_SETTINGS[server_name]}, SQLite")
    print(
        f"{'case':10} {'server':10} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'requests':>9}"
        f" {'bad':>5} {'cpu us/req':>10}"
    )
    for case, product, bare in pairs:
        for r in (product, bare):
            bad = r.non200 + r.unexpected + r.socket_errors
            print(
                f"{case.name:10} {r.name:10} {r.rps:9.0f} {r.p50_ms:8.2f} {r.p99_ms:8.2f}"
                f" {r.requests:9d} {bad:5d} {r.cpu_us:10.1f}"
            )
    invalid = [r for _, product, bare in pairs for r in (product, bare) if not r.valid]
    for r in invalid:
        print(
            f"INVALID {r.name}: {r.non200} non-200, {r.unexpected} unexpected bodies, "
            f"{r.socket_errors} socket errors; first: {r.sample or '-'}"
        )
    ratios = {case.name: product.rps / (bare.rps or 1.0) for case, product, bare in pairs}
    within = True
    for case, product, bare in pairs:
        ratio = ratios[case.name]
        budget = case.ratio_budget
        if case.name == "read20" and "read" in ratios:
            budget = ratios["read"] / 2
        ok = ratio >= budget
        line = f"{case.name:10} ratio {ratio:.2f} (budget >= {budget:.2f}: {_ok(ok)})"
        if product.cpu_us:
            # Informative only: the budget is the req/s ratio.
            line += f"  cpu bare/product {bare.cpu_us / product.cpu_us:.2f}"
        if case.p99_budget_ms is not None:
            p99_ok = product.p99_ms < case.p99_budget_ms
            limit = case.p99_budget_ms
            line += f"  p99 {product.p99_ms:.2f} ms (budget < {limit:g}: {_ok(p99_ok)})"
            ok = ok and p99_ok
        print(line)
        within = within and ok
    return not invalid, within


def _ok(flag: bool) -> str:
    return "ok" if flag else "OVER"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="measured seconds per server")
    parser.add_argument("--warmup", type=int, default=None, help="warm-up seconds (default 2)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--users", type=int, default=20_000, help="first visits' users, cycled")
    parser.add_argument("--returning", type=int, default=2_000, help="returning browsers")
    parser.add_argument("--busy", type=int, default=200, help="users with 20 conversations")
    parser.add_argument(
        "--case", choices=[*CASES, "all"], action="append", help="a case to run (default all)"
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when over budget")
    parser.add_argument("--keep", action="store_true", help="keep the data dir and logs")
    parser.add_argument("--verbose", action="store_true", help="print wrk's own report")
    parser.add_argument(
        "--server",
        choices=SERVERS,
        action="append",
        help="the ASGI server of both apps (default uvicorn); given twice, each in turn",
    )
    parser.add_argument(
        "--profile", type=Path, default=None, help="py-spy each countersign case into this dir"
    )
    args = parser.parse_args()
    if args.warmup is None:
        args.warmup = min(2, args.seconds)
    args.server = args.server or ["uvicorn"]
    if not args.case or "all" in args.case:
        args.case = list(CASES)
    return run_benchmark(
        "countersign-bench-",
        lambda work: run_servers(work, args),
        keep=args.keep,
        check=args.check,
        invalid="figures above do not measure successful identifies",
    )


def product_command(name: str, data_dir: Path, port: int) -> list[str]:
    """``countersign serve`` as a user runs it, or the same app on granian."""
    if name == "granian":
        command = [sys.executable, "-m", "granian", *GRANIAN_FLAGS, "--factory"]
        return [*command, "--host", "127.0.0.1", "--port", str(port), SERVING_APP]
    serve = [sys.executable, "-m", "countersign", "serve"]
    return [*serve, "--data-dir", str(data_dir), "--port", str(port), "--log-level", "warning"]


def bare_command(name: str, port: int) -> list[str]:
    if name == "granian":
        command = [sys.executable, "-m", "granian", *GRANIAN_FLAGS, "--working-dir", str(HERE)]
        return [*command, "--host", "127.0.0.1", "--port", str(port), "bare_app:app"]
    bare = [sys.executable, "-m", "uvicorn", "bare_app:app", "--app-dir", str(HERE)]
    bare += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1", *UVICORN_FLAGS]
    return [*bare, "--no-proxy-headers"]  # as `countersign serve` runs uvicorn


def run_servers(work: Path, args: argparse.Namespace) -> tuple[bool, bool]:
    """:func:`run` on each ``--server``, each on a fresh data dir (a first visit must be
    one), then the product's req/s on each server against the first."""
    outcomes: list[tuple[bool, bool]] = []
    products: dict[str, dict[str, Result]] = {}
    for name in args.server:
        if name == "granian" and importlib.util.find_spec("granian") is None:
            raise BenchmarkError("granian is not installed: pip install granian")
        (work / name).mkdir()
        valid, within, products[name] = run(work / name, args, name)
        outcomes.append((valid, within))
    first = args.server[0]
    for name in args.server[1:]:
        for case, result in products[name].items():
            ratio = result.rps / (products[first][case].rps or 1.0)
            print(
                f"{case:10} countersign on {name} / on {first}: {ratio:.2f}x req/s, "
                f"p99 {result.p99_ms:.2f} vs {products[first][case].p99_ms:.2f} ms"
            )
    return all(v for v, _ in outcomes), all(w for _, w in outcomes)


def run(
    work: Path, args: argparse.Namespace, server_name: str = "uvicorn"
) -> tuple[bool, bool, dict[str, Result]]:
    """Each case on countersign, then each on the bare app, in ``work``; on
    ``server_name``. Returns (valid, within budget, the product's results by case)."""
    data_dir = work / "data"
    busy_users = [f"bench-busy-{n:05d}" for n in range(args.busy)]
    app = create_app(data_dir, busy_users if "read20" in args.case else [])
    script = work / "requests.lua"
    script.write_text(LUA_SCRIPT)
    env = clean_environment(data_dir)
    products: dict[str, Result] = {}
    inputs: dict[str, Path] = {}

    port = free_port()
    serve = product_command(server_name, data_dir, port)
    with server("countersign", serve, port, work, env) as pid:
        base = f"http://127.0.0.1:{port}"
        check_identify(base + IDENTIFY_PATH, app)
        print(f"countersign server pid {pid} (py-spy top --pid {pid})", file=sys.stderr)
        inputs["first"] = first_visits(work, app, args.users)
        if {"returning", "read", "inbox"} & set(args.case):
            returning_ids = [f"bench-back-{n:05d}" for n in range(args.returning)]
            inputs["returning"], inputs["read"] = returning_visits(
                work, base, app, "back", returning_ids
            )
            inputs["inbox"] = inputs["read"]
        if "read20" in args.case:
            _, inputs["read20"] = returning_visits(work, base, app, "busy", busy_users)
        for name in args.case:
            case = CASES[name]
            url = base + case.path
            products[name] = measure(
                "countersign", pid, url, script, inputs[name], case.expect, args, name
            )

    pairs = []
    port = free_port()
    with server("bare", bare_command(server_name, port), port, work, env) as pid:
        url = f"http://127.0.0.1:{port}/"
        status, raw = post(url, b"{}")
        if status != 200 or BARE_EXPECT.encode() not in raw:
            raise BenchmarkError(f"the bare app answered {status} {raw!r}")
        for name in args.case:
            result = measure("bare ASGI", pid, url, script, inputs[name], BARE_EXPECT, args)
            pairs.append((CASES[name], products[name], result))

    valid, within = print_table(pairs, args, server_name)
    return valid, within, products


if __name__ == "__main__":
    sys.exit(main())
