"""The benchmark scripts still run and print their tables (no timing is asserted).

They are run briefly as a user would run them, as subprocesses: a benchmark that
no longer starts is found here, not on the day someone needs its figures.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import IN_CI

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def run_benchmark(script: str, *args: str) -> str:
    completed = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed.stdout


def test_identify_benchmark_runs() -> None:
    if shutil.which("wrk") is None:
        message = "wrk is not installed (apt-get install wrk): benchmarks/identify.py needs it"
        if IN_CI:
            pytest.fail(f"{message}; CI must install it, never skip this")
        pytest.skip(message)
    output = run_benchmark(
        "identify.py", "--seconds", "1", "--warmup", "0", "--connections", "8",
        "--users", "200", "--returning", "50", "--busy", "5",
    )  # fmt: skip
    for case in ("first", "returning", "read", "read20", "inbox"):
        rows = [line.split() for line in output.splitlines() if line.startswith(case + " ")]
        assert ["countersign"] in [row[1:2] for row in rows], output
        assert ["bare", "ASGI"] in [row[1:3] for row in rows], output
        assert ["ratio"] in [row[1:2] for row in rows], output
    assert output.count("p99 ") >= 2, output  # first visit and returning have a p99 budget
    assert "INVALID" not in output


def test_verify_benchmark_runs() -> None:
    output = run_benchmark("verify.py", "--seconds", "0.01")
    assert output.splitlines()[0].split()[:2] == ["case", "ns/call"]
    assert "ring, one hex secret" in output


def test_fanout_benchmark_runs() -> None:
    output = run_benchmark("fanout.py", "--quick")
    header = next(line.split() for line in output.splitlines() if line.split()[:1] == ["N"])
    assert header[:4] == ["N", "p50", "ms", "p99"], output
    rows = [line.split() for line in output.splitlines() if line.split()[:1] in (["10"], ["50"])]
    # N, p50, p99, max, POST p50, POST p99, spread p99, CPU/round, lost, missing, order
    assert {row[0] for row in rows} == {"10", "50"}, output
    assert all(row[-3:] == ["0", "0", "0"] for row in rows), output
    assert "KiB per connection" in output
    assert "a live notification reached" in output
    assert "INVALID" not in output


def test_bulk_fanout_benchmark_runs() -> None:
    output = run_benchmark("bulk_fanout.py", "--quick")
    assert "bulk (one POST)" in output
    assert "ratio bulk/serial" in output
    assert "lost rounds 0, missing 0, order errors 0" in output
    assert "INVALID" not in output


def test_contact_search_benchmark_runs() -> None:
    output = run_benchmark("contact_search.py", "--contacts", "2000", "--quick")
    assert "SQLite: 2000 contacts" in output, output
    assert "rare name" in output
    if "PostgreSQL: not measured" not in output:
        assert "uses the trigram index:" in output


def test_uploads_benchmark_runs() -> None:
    output = run_benchmark("uploads.py", "--uploads", "2", "--megabytes", "1", "--runs", "1")
    assert "growth/in-flight" in output
    rows = [line.split() for line in output.splitlines() if line.split()[:1] == ["1"]]
    assert len(rows) == 1, output
    assert "INVALID" not in output
