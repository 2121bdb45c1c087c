"""One request to a thousand users: the bulk case of ``POST /v1/notifications``.

    python benchmarks/bulk_fanout.py [--users 1000] [--rounds 5] [--serial-rounds 1]
    python benchmarks/bulk_fanout.py --quick          # 50 users, a smoke test

One ``countersign serve`` (one worker, fresh SQLite data dir, 127.0.0.1), one app, and
``--users`` different verified users, one connected widget each (the sockets live in
this process, as in ``fanout.py``, whose helpers this uses). Each bulk round is one
POST naming every user in ``user_ids`` with the send time in ``data``; it is complete
when every widget has it. Reported per round: the request's own latency (it answers
once the one transaction committed) and the time until the *last* widget had it; over
all arrivals, p50 and p99 of send-to-arrival.

The baseline, in the same run and on the same server and widgets: the same users
notified the way a backend had to before, one ``user_id`` POST each, back to back on
one keep-alive connection (``--serial-rounds`` of them). The ratio bulk/serial of the
time until the last widget has it is the figure that holds on a shared machine; the
absolute times do not (two cores, shared with other work and with this client). Every
widget checks its ``seq`` (one more than the last); a lost delivery makes the run
INVALID (exit 2).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx2 as httpx
from fanout import (
    OPEN_CONCURRENCY,
    POST_TIMEOUT_SECONDS,
    Poster,
    RoundTracker,
    Server,
    Widget,
    abort_all,
    bounded,
    identify,
    open_widget,
    percentile,
    raise_nofile,
    run_async,
    running_server,
)
from processes import BenchmarkError, run_benchmark

ROUND_TIMEOUT_SECONDS = 60.0


async def measure(server: Server, args: argparse.Namespace) -> dict[str, Any]:
    users = [f"bulk-user-{i}" for i in range(args.users)]
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=16), timeout=60) as http:
        tokens = await bounded([lambda u=u: identify(http, server, u) for u in users], 16)
    opened = await bounded(
        [lambda t=t: open_widget(server, t, "deflate") for t in tokens], OPEN_CONCURRENCY
    )
    tracker = RoundTracker(len(users))
    widgets = [Widget(ws, seq, tracker) for ws, seq in opened]
    listeners = [asyncio.create_task(w.listen()) for w in widgets]
    poster = Poster(server, "/v1/notifications")
    bulk: list[tuple[float, float]] = []  # (POST ms, last arrival ms) per round
    serial: list[tuple[float, float]] = []  # (all POSTs ms, last arrival ms) per round
    lost = 0
    gc.collect()
    gc.disable()  # this client's collections would be measured as delivery latency
    try:
        round_no = 0
        for kind, count in (("warmup", 1), ("bulk", args.rounds), ("serial", args.serial_rounds)):
            for _ in range(count):
                complete = tracker.start(round_no)
                sent = time.monotonic()
                data = {"round": round_no, "sent": sent}
                if kind == "serial":
                    for user in users:
                        body = {"user_id": user, "title": f"round {round_no}", "data": data}
                        status, raw = await asyncio.wait_for(
                            poster.post(body), POST_TIMEOUT_SECONDS
                        )
                        if status != 201:
                            raise BenchmarkError(f"notify: {status} {raw[:300]!r}")
                else:
                    body = {"user_ids": users, "title": f"round {round_no}", "data": data}
                    status, raw = await asyncio.wait_for(poster.post(body), POST_TIMEOUT_SECONDS)
                    if status != 201:
                        raise BenchmarkError(f"bulk notify: {status} {raw[:300]!r}")
                answered = time.monotonic()
                try:
                    await asyncio.wait_for(complete.wait(), ROUND_TIMEOUT_SECONDS)
                except TimeoutError:
                    lost += 1
                last = max(tracker.latencies[round_no], default=float("nan"))
                figures = ((answered - sent) * 1000, last * 1000)
                if kind == "bulk":
                    bulk.append(figures)
                elif kind == "serial":
                    serial.append(figures)
                round_no += 1
    finally:
        gc.enable()
        poster.close()
        abort_all([w.ws for w in widgets])
        for task in listeners:
            task.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)
    bulk_rounds = range(1, 1 + args.rounds)
    arrivals = sorted(s * 1000 for r in bulk_rounds for s in tracker.latencies.get(r, []))
    return {
        "bulk": bulk,
        "serial": serial,
        "arrivals": arrivals,
        "lost": lost,
        "missing": len(users) * args.rounds - len(arrivals),
        "order_errors": sum(w.order_errors for w in widgets),
    }


def report(result: dict[str, Any], args: argparse.Namespace) -> bool:
    posts = sorted(p for p, _ in result["bulk"])
    lasts = sorted(last for _, last in result["bulk"])
    arrivals = result["arrivals"]
    print(
        f"{args.users} users, one widget each; {args.rounds} bulk rounds, "
        f"{args.serial_rounds} serial baseline rounds; one worker, SQLite"
    )
    print("case                 POST ms (median)   last widget ms (median)   arrival p50   p99")
    post, last = statistics.median(posts), statistics.median(lasts)
    p50, p99 = percentile(arrivals, 0.5), percentile(arrivals, 0.99)
    print(f"bulk (one POST)      {post:>16.1f}   {last:>23.1f}   {p50:>11.1f}   {p99:.1f}")
    if result["serial"]:
        s_posts = statistics.median(p for p, _ in result["serial"])
        s_lasts = statistics.median(last for _, last in result["serial"])
        print(f"serial ({args.users} POSTs)  {s_posts:>16.1f}   {s_lasts:>23.1f}")
        print(
            f"ratio bulk/serial, time until the last widget has it: "
            f"{statistics.median(lasts) / s_lasts:.3f}"
        )
    print(
        f"per round: POST ms {[round(p, 1) for p, _ in result['bulk']]}, "
        f"last widget ms {[round(last, 1) for _, last in result['bulk']]}"
    )
    print(
        f"lost rounds {result['lost']}, missing {result['missing']}, "
        f"order errors {result['order_errors']}"
    )
    return result["lost"] == 0 and result["missing"] == 0 and result["order_errors"] == 0


def run(work: Path, args: argparse.Namespace) -> tuple[bool, bool]:
    with running_server("bulk", work, args.serve_arg) as server:
        print(f"bulk server pid {server.pid}", file=sys.stderr)
        result = run_async(measure(server, args))
    return report(result, args), True


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=None, help="users, one widget each (1000)")
    parser.add_argument("--rounds", type=int, default=None, help="bulk rounds measured (5)")
    parser.add_argument("--serial-rounds", type=int, default=None, help="baseline rounds (1)")
    parser.add_argument("--quick", action="store_true", help="small numbers: a smoke test")
    parser.add_argument("--keep", action="store_true", help="keep the data dir and log")
    parser.add_argument("--serve-arg", action="append", default=[])
    args = parser.parse_args()
    quick = args.quick
    args.users = args.users or (50 if quick else 1000)
    args.rounds = args.rounds or (3 if quick else 5)
    args.serial_rounds = args.serial_rounds if args.serial_rounds is not None else 1
    return args


def main() -> int:
    args = parse_args()
    soft, _ = raise_nofile()
    if soft < args.users + 200:
        print(
            f"benchmark failed: {args.users} sockets need a higher RLIMIT_NOFILE", file=sys.stderr
        )
        return 2
    return run_benchmark(
        "countersign-bulk-fanout-",
        lambda work: run(work, args),
        keep=args.keep,
        check=False,
        invalid="a delivery was lost (see above)",
    )


if __name__ == "__main__":
    sys.exit(main())
