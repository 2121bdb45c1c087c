"""POST /v1/widget/identify req/s and latency, as a ratio to a bare ASGI app, in one run.

    python benchmarks/identify.py [--seconds 10] [--connections 64] [--check]

Both servers run on 127.0.0.1 under the same uvicorn settings (one worker, httptools,
uvloop, no access log) and are driven by the same wrk Lua script with the same bodies:
``countersign serve`` on a fresh SQLite data dir with one app, and
``benchmarks/bare_app.py``, which reads the body and answers ``{"ok":true}``. Every
identify request names a different user (``--users`` of them, cycled) with a valid
hash, so each one verifies, upserts a verified contact, creates a visitor and opens
a session. The Lua script counts responses that are not 200 or lack the expected text;
a run with any of those, or with socket errors, is reported INVALID (exit 2).

Budgets (SPEC section 9): identify req/s >= 0.30 x bare, identify p99 < 10 ms at 64
connections. ``--check`` exits 1 when over budget. The machine is shared and has two
cores (wrk takes one of them), so only the ratio of one run means anything. The
``cpu us/req`` column (the server process's CPU time over the requests it answered)
moves much less with other load on the machine than req/s does: use it to tell
whether a change helped.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
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

from countersign import sign
from countersign.context import open_backend
from countersign.settings import load_settings
from countersign.storage import apps

HERE = Path(__file__).resolve().parent
RATIO_BUDGET = 0.30
P99_BUDGET_MS = 10.0
IDENTIFY_PATH = "/v1/widget/identify"
# msgspec writes the identity object in this order; a 200 without it is not a success.
IDENTIFY_EXPECT = '"identity":{"status":"verified"'
BARE_EXPECT = '"ok":true'
UVICORN_FLAGS = [
    "--http",
    "httptools",
    "--loop",
    "uvloop",
    "--no-access-log",
    "--log-level",
    "warning",
]

# One prepared request per body, split between wrk's threads; each thread cycles
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
  local headers = { ["Content-Type"] = "application/json" }
  local n = 0
  for line in io.lines(path) do
    if n % nthreads == thread_index then
      prepared[#prepared + 1] = wrk.format("POST", target, headers, line)
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
    """User + system CPU time of process ``pid`` and its threads (Linux), else 0."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(
    name: str,
    pid: int,
    url: str,
    script: Path,
    bodies: Path,
    expect: str,
    args: argparse.Namespace,
) -> Result:
    """A warm-up run (it fills the app cache, the connection and SQLite's page cache),
    then the measured run, with the server's CPU time taken around it."""
    warm = argparse.Namespace(**{**vars(args), "seconds": args.warmup, "verbose": False})
    warmed = run_wrk(name, url, script, bodies, expect, warm)
    if not warmed.valid:
        return warmed
    before = cpu_seconds(pid)
    result = run_wrk(name, url, script, bodies, expect, args)
    return dataclasses.replace(result, cpu_seconds=cpu_seconds(pid) - before)


def create_app(data_dir: Path) -> dict[str, str]:
    backend = open_backend(load_settings(environ={}, data_dir=data_dir))
    try:
        created = backend.database.run_sync(lambda c: apps.create_app(c, backend.box, "Bench"))
    finally:
        backend.close()
    return {"app_id": created.app.id, "secret": created.secret}


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


def write_inputs(work: Path, app: dict[str, str], users: int) -> tuple[Path, Path]:
    script = work / "identify.lua"
    script.write_text(LUA_SCRIPT)
    bodies = work / "bodies.jsonl"
    with bodies.open("w") as out:
        for n in range(users):
            user_id = f"bench-user-{n:06d}"
            body = {"app_id": app["app_id"], "user_id": user_id}
            body["user_hash"] = sign(app["secret"], user_id)
            out.write(json.dumps(body, separators=(",", ":")) + "\n")
    return script, bodies


def clean_environment(data_dir: Path) -> dict[str, str]:
    """The caller's environment without COUNTERSIGN_* (so SQLite in ``data_dir`` is
    used, whatever database the shell points at)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUNTERSIGN_")}
    env["COUNTERSIGN_DATA_DIR"] = str(data_dir)
    return env


def print_table(results: list[Result], args: argparse.Namespace) -> tuple[bool, bool]:
    """The table and verdicts; returns (valid, within budget)."""
    print(
        f"wrk -t2 -c{args.connections} -d{args.seconds}s, one uvicorn worker "
        f"(httptools, uvloop, no access log), SQLite, {args.users} users"
    )
    print(
        f"{'server':12} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'requests':>9} {'bad':>5}"
        f" {'cpu us/req':>10}"
    )
    for r in results:
        bad = r.non200 + r.unexpected + r.socket_errors
        print(
            f"{r.name:12} {r.rps:9.0f} {r.p50_ms:8.2f} {r.p99_ms:8.2f} {r.requests:9d} {bad:5d}"
            f" {r.cpu_us:10.1f}"
        )
    invalid = [r for r in results if not r.valid]
    for r in invalid:
        print(
            f"INVALID {r.name}: {r.non200} non-200, {r.unexpected} unexpected bodies, "
            f"{r.socket_errors} socket errors; first: {r.sample or '-'}"
        )
    by_name = {r.name: r for r in results}
    identify, bare = by_name["identify"], by_name["bare ASGI"]
    ratio = identify.rps / bare.rps if bare.rps else 0.0
    ratio_ok = ratio >= RATIO_BUDGET
    p99_ok = identify.p99_ms < P99_BUDGET_MS
    print(f"ratio identify/bare: {ratio:.2f}  (budget >= {RATIO_BUDGET}: {_ok(ratio_ok)})")
    if identify.cpu_us:
        # Informative only: the budget is the req/s ratio above.
        print(f"server CPU per request, bare/identify: {bare.cpu_us / identify.cpu_us:.2f}")
    print(
        f"p99 identify: {identify.p99_ms:.2f} ms at {args.connections} connections  "
        f"(budget < {P99_BUDGET_MS:g} ms: {_ok(p99_ok)})"
    )
    return not invalid, ratio_ok and p99_ok


def _ok(flag: bool) -> str:
    return "ok" if flag else "OVER"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="measured seconds per server")
    parser.add_argument("--warmup", type=int, default=None, help="warm-up seconds (default 2)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--users", type=int, default=20_000, help="distinct user ids, cycled")
    parser.add_argument("--check", action="store_true", help="exit 1 when over budget")
    parser.add_argument("--keep", action="store_true", help="keep the data dir and logs")
    parser.add_argument("--verbose", action="store_true", help="print wrk's own report")
    args = parser.parse_args()
    if args.warmup is None:
        args.warmup = min(2, args.seconds)
    return run_benchmark(
        "countersign-bench-",
        lambda work: run(work, args),
        keep=args.keep,
        check=args.check,
        invalid="figures above do not measure successful identifies",
    )


def run(work: Path, args: argparse.Namespace) -> tuple[bool, bool]:
    """identify, then the bare app, in ``work``: (valid, within budget)."""
    data_dir = work / "data"
    app = create_app(data_dir)
    script, bodies = write_inputs(work, app, args.users)
    env = clean_environment(data_dir)
    results = []

    port = free_port()
    serve = [sys.executable, "-m", "countersign", "serve"]
    serve += ["--data-dir", str(data_dir), "--port", str(port), "--log-level", "warning"]
    with server("identify", serve, port, work, env) as pid:
        url = f"http://127.0.0.1:{port}{IDENTIFY_PATH}"
        check_identify(url, app)
        print(f"identify server pid {pid} (py-spy top --pid {pid})", file=sys.stderr)
        results.append(measure("identify", pid, url, script, bodies, IDENTIFY_EXPECT, args))

    port = free_port()
    bare = [sys.executable, "-m", "uvicorn", "bare_app:app", "--app-dir", str(HERE)]
    bare += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1", *UVICORN_FLAGS]
    bare += ["--no-proxy-headers"]  # as `countersign serve` runs uvicorn
    with server("bare", bare, port, work, env) as pid:
        url = f"http://127.0.0.1:{port}/"
        status, raw = post(url, b"{}")
        if status != 200 or BARE_EXPECT.encode() not in raw:
            raise BenchmarkError(f"the bare app answered {status} {raw!r}")
        results.append(measure("bare ASGI", pid, url, script, bodies, BARE_EXPECT, args))

    return print_table(results, args)


if __name__ == "__main__":
    sys.exit(main())
