"""The data dir is the operator's alone: 0700, every file in it 0600, and a warning at
start when an existing one is readable by other local users."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from countersign.context import open_backend
from countersign.settings import load_settings
from countersign.storage import apps
from tests.cli.serving import free_port, serves_on


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The umask most systems give a service (022), whatever the test runner's is."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _modes(data_dir: Path) -> dict[str, int]:
    return {
        path.name: stat.S_IMODE(path.stat().st_mode) for path in [data_dir, *data_dir.iterdir()]
    }


def test_a_fresh_data_dir_and_every_file_in_it_are_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "nested" / "data"
    backend = open_backend(load_settings({}, data_dir=data_dir))
    try:
        backend.database.run_sync(lambda c: apps.create_app(c, backend.box, "Shop"))
        modes = _modes(data_dir)  # while open: the -wal and -shm files exist
    finally:
        backend.close()
    assert {"countersign.db", "countersign.db-wal", "countersign.db-shm"} <= modes.keys()
    assert modes.pop("data") == 0o700
    assert modes == dict.fromkeys(modes, 0o600), modes


def test_serve_keeps_it_private_and_warns_when_it_is_not(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    args = ["--data-dir", str(data_dir), "--port", str(port), "--demo"]
    first = serves_on(port, args, {})
    assert "Warning" not in first
    modes = _modes(data_dir)
    assert modes.pop("data") == 0o700
    assert {"countersign.db", "master.key", "demo-app.json"} <= modes.keys()
    assert modes == dict.fromkeys(modes, 0o600), modes

    os.chmod(data_dir, 0o755)
    os.chmod(data_dir / "countersign.db", 0o644)
    second = serves_on(port, args, {})
    assert f"Warning: {data_dir} is 0755: other local users can read it" in second
    assert f"{data_dir / 'countersign.db'} is 0644" in second
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o755  # the operator's to change
