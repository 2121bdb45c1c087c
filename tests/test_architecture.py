"""The import contracts (pyproject.toml, docs/architecture.md) hold, and would catch
the back-arrows the house had before: each probe adds one such import to a copy of
the package and expects ``lint-imports`` to fail on it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(source_root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(source_root)}
    return subprocess.run(
        [str(LINT), "--no-cache", str(ROOT / "pyproject.toml")],
        cwd=source_root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_contracts_are_kept() -> None:
    done = _lint(ROOT / "src")
    assert done.returncode == 0, done.stdout + done.stderr


PROBES = {
    "storage imports a capability": ("storage/_probe.py", "from ..webhooks import delivery\n"),
    "storage announces a change itself": (
        "storage/_probe.py",
        "from ..messaging import announce\n",
    ),
    "one capability imports another": ("messaging/_probe.py", "from ..webhooks import delivery\n"),
    "realtime imports storage": ("realtime/_probe.py", "from ..storage import models\n"),
    "a capability imports the server": ("webhooks/_probe.py", "from ..server import state\n"),
    "core imports storage": ("core/_probe.py", "from ..storage import database\n"),
    "a circle through TYPE_CHECKING": (
        "server/routes/_probe.py",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .. import app\n",
    ),
}


@pytest.mark.parametrize("probe", sorted(PROBES))
def test_a_back_arrow_breaks_the_contracts(probe: str, tmp_path: Path) -> None:
    shutil.copytree(ROOT / "src" / "countersign", tmp_path / "countersign")
    relative, code = PROBES[probe]
    (tmp_path / "countersign" / relative).write_text(code)
    done = _lint(tmp_path)
    assert done.returncode != 0, f"{probe} was not caught:\n{done.stdout}"
    assert "BROKEN" in done.stdout
