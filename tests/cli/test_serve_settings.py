"""``countersign serve`` takes its address from COUNTERSIGN_HOST and COUNTERSIGN_PORT
when no flag is given, and a flag wins over the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.cli.serving import free_port, serves_on


def test_the_port_and_host_come_from_the_environment(tmp_path: Path) -> None:
    port = free_port()
    env = {"COUNTERSIGN_PORT": str(port), "COUNTERSIGN_HOST": "127.0.0.1"}
    output = serves_on(port, ["--data-dir", str(tmp_path)], env)
    assert f"Countersign on http://127.0.0.1:{port}" in output


def test_the_port_flag_wins_over_the_environment(tmp_path: Path) -> None:
    flag, variable = free_port(), free_port()
    env = {"COUNTERSIGN_PORT": str(variable)}
    output = serves_on(flag, ["--data-dir", str(tmp_path), "--port", str(flag)], env)
    assert f"Countersign on http://127.0.0.1:{flag}" in output


def test_a_bad_port_variable_stops_serve_with_its_name(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "countersign", "serve", "--data-dir", str(tmp_path)],
        env={k: v for k, v in os.environ.items() if not k.startswith("COUNTERSIGN_")}
        | {"COUNTERSIGN_PORT": "70000"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "COUNTERSIGN_PORT must be between 1 and 65535" in done.stderr
