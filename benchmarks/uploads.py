"""Uploads: throughput and the server's peak memory for concurrent large uploads, as
ratios to what the same run measures (SPEC 11, issue 14).

    python benchmarks/uploads.py [--uploads 20] [--megabytes 10] [--runs 3] [--directory]
        [--check]

``countersign serve`` runs on a fresh SQLite data dir with one app; ``--uploads``
clients each send a ``--megabytes`` MB file (a ZIP: sniffed, not decoded) to
``POST /v1/widget/uploads`` at the same time; with ``--directory`` the server keeps
the files in an attachments directory (``--attachments-dir``) instead of the
database. Measured:

- throughput: MB/s of file bytes accepted, against ``benchmarks/bare_app.py`` (which
  only reads the body) receiving the same bodies in the same run: the ratio is what
  streaming to a temporary file and storing in chunks costs;
- memory: the server process's resident set, sampled every 5 ms; its growth over the
  idle server (after one warm-up upload) as a multiple of the bytes in flight
  (uploads x size). Budget: under 2 x.

The machine is shared and has two cores: only figures of one run compare.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import secrets
import sys
import threading
import time
from pathlib import Path

import httpx2
from identify import clean_environment, create_app, free_port, server
from processes import BenchmarkError, run_benchmark

from countersign import sign

HERE = Path(__file__).resolve().parent
MEMORY_BUDGET = 2.0


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


class PeakSampler:
    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes(self.pid))
            time.sleep(0.005)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def upload_all(url: str, headers: dict[str, str], files: list[bytes]) -> float:
    """Send every file at once; seconds until the last answered. All must be 201/200."""

    def one(data: bytes) -> int:
        with httpx2.Client(timeout=120) as client:
            answer = client.post(url, files={"file": ("logs.zip", data)}, headers=headers)
            return answer.status_code

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(len(files)) as pool:
        statuses = list(pool.map(one, files))
    elapsed = time.monotonic() - started
    if any(status not in (200, 201) for status in statuses):
        raise BenchmarkError(f"uploads answered {sorted(set(statuses))}")
    return elapsed


def session_headers(base: str, app: dict[str, str], user: str) -> dict[str, str]:
    body = {"app_id": app["app_id"], "user_id": user, "user_hash": sign(app["secret"], user)}
    answer = httpx2.post(base + "/v1/widget/identify", json=body, timeout=10)
    if answer.status_code != 200:
        raise BenchmarkError(f"identify answered {answer.status_code}: {answer.text[:200]}")
    return {"Authorization": "Bearer " + answer.json()["session_token"]}


def run(work: Path, args: argparse.Namespace) -> tuple[bool, bool]:
    size = args.megabytes * 1_000_000
    files = [b"PK\x05\x06" + secrets.token_bytes(size - 4) for _ in range(args.uploads)]
    in_flight = size * args.uploads
    data_dir = work / "data"
    app = create_app(data_dir, [])
    env = clean_environment(data_dir)
    port = free_port()
    serve = [sys.executable, "-m", "countersign", "serve", "--data-dir", str(data_dir)]
    serve += ["--port", str(port), "--log-level", "warning"]
    if args.directory:
        serve += ["--attachments-dir", str(work / "files")]
    results = []
    with server("countersign", serve, port, work, env) as pid:
        base = f"http://127.0.0.1:{port}"
        warm = session_headers(base, app, "bench-warm-up")
        upload_all(base + "/v1/widget/uploads", warm, files[:1])  # warm: imports, pools
        for number in range(args.runs):
            # A user of its own per run: a user's uploads are limited to 30 a minute.
            headers = session_headers(base, app, f"bench-uploader-{number}")
            idle = rss_bytes(pid)
            with PeakSampler(pid) as sampler:
                seconds = upload_all(base + "/v1/widget/uploads", headers, files)
            results.append((seconds, idle, sampler.peak))
    bare_seconds = []
    port = free_port()
    bare = [sys.executable, "-m", "uvicorn", "bare_app:app", "--app-dir", str(HERE)]
    bare += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    with server("bare", bare, port, work, env):
        for _ in range(args.runs):
            bare_seconds.append(upload_all(f"http://127.0.0.1:{port}/", {}, files))

    print(f"{args.uploads} concurrent uploads of {args.megabytes} MB "
          f"({in_flight / 1e6:.0f} MB in flight), {args.runs} runs, files in the "
          f"{'attachments directory' if args.directory else 'database'}")  # fmt: skip
    print("run  countersign MB/s  bare MB/s  ratio  idle RSS MB  peak RSS MB  growth/in-flight")
    within = True
    for number, ((seconds, idle, peak), bare_s) in enumerate(
        zip(results, bare_seconds, strict=True), 1
    ):
        growth = (peak - idle) / in_flight
        ok = growth < MEMORY_BUDGET
        within = within and ok
        print(
            f"{number:<4} {in_flight / 1e6 / seconds:>16.1f}  {in_flight / 1e6 / bare_s:>9.1f}"
            f"  {bare_s / seconds:>5.2f}  {idle / 1e6:>11.1f}  {peak / 1e6:>11.1f}"
            f"  {growth:>6.2f} x (budget < {MEMORY_BUDGET:g}: {'ok' if ok else 'OVER'})"
        )
    return True, within


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=20)
    parser.add_argument("--megabytes", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--directory", action="store_true", help="files in an attachments directory"
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when over budget")
    parser.add_argument("--keep", action="store_true", help="keep the data dir and logs")
    args = parser.parse_args()
    return run_benchmark(
        "countersign-uploads-",
        lambda work: run(work, args),
        keep=args.keep,
        check=args.check,
        invalid="figures above do not measure successful uploads",
    )


if __name__ == "__main__":
    sys.exit(main())
