"""Starting and stopping the server a benchmark measures (shared by the benchmarks)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import FrameType


class BenchmarkError(RuntimeError):
    """The run is invalid: say why and stop, rather than print a misleading figure."""


def wait_until_up(process: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchmarkError(
                f"the server exited with {process.returncode}:\n{log_path.read_text()[-2000:]}"
            )
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                if r.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            time.sleep(0.1)
    raise BenchmarkError(f"the server did not answer within 60 s:\n{log_path.read_text()[-2000:]}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group, SIGKILL it if it lingers."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    # SIGTERM takes the same path as Ctrl-C, so every server is stopped on the way out.
    raise KeyboardInterrupt


def run_benchmark(
    prefix: str,
    measure: Callable[[Path], tuple[bool, bool]],
    *,
    keep: bool,
    check: bool,
    invalid: str,
) -> int:
    """Run ``measure`` in a fresh work dir and turn its outcome into the exit code:
    0 done, 1 over budget with ``check``, 2 a failed or invalid run (``invalid`` says
    why the figures do not count), 130 interrupted. Servers are stopped on every path,
    SIGTERM included; the work dir is removed unless ``keep``."""
    signal.signal(signal.SIGTERM, _interrupt)
    work = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        valid, within = measure(work)
    except BenchmarkError as error:
        print(f"benchmark failed: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; servers stopped", file=sys.stderr)
        return 130
    finally:
        if keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    if not valid:
        print(f"INVALID run: {invalid}")
        return 2
    return 1 if (check and not within) else 0
