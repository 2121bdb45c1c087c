"""The app factory ``serve`` hands to uvicorn tunes the collector for a long-lived
server: the objects of start-up are frozen out of every collection."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROBE = """
import gc, time
from countersign.cli.serve import GC_THRESHOLDS, serving_app
serving_app()
assert gc.get_threshold() == GC_THRESHOLDS, gc.get_threshold()
frozen = gc.get_freeze_count()
started = time.perf_counter()
gc.collect()
print(frozen, len(gc.get_objects()), time.perf_counter() - started)
"""


def test_serving_app_freezes_what_start_up_made(tmp_path: Path) -> None:
    # A process of its own: freezing is for good, and would leak this test process's
    # objects out of the collector.
    completed = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={"COUNTERSIGN_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    frozen, tracked, _seconds = completed.stdout.split()
    assert int(frozen) > 50_000  # the modules, the app and its routes
    assert int(tracked) < int(frozen) // 10  # what a full collection still walks
