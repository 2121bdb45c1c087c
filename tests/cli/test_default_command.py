"""``countersign`` with no command serves, as datasette's does (click-default-group)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.cli.serving import free_port, serves_on


def test_bare_countersign_runs_serve(tmp_path: Path) -> None:
    port = free_port()
    serves_on(port, ["--data-dir", str(tmp_path), "--port", str(port)], {}, command=())


def test_help_marks_serve_as_the_default() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "countersign", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "serve*" in done.stdout
