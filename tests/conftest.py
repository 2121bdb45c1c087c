"""Fixtures shared by every test module."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

#: ``../shared`` beside the project's root: the spec and the public test vectors.
SHARED = Path(__file__).resolve().parents[1].parent / "shared"

IN_CI = os.environ.get("CI") == "true"


def shared_file(relative: str) -> Path:
    """A file under ``../shared``, or a skip that prints why when it is absent."""
    path = SHARED / relative
    if not path.is_file():
        pytest.skip(f"{path} is absent: ../shared is not beside this checkout")
    return path
