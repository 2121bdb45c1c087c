"""Countersign's own INFO lines show in either log format, at the level ``serve`` is given."""

from __future__ import annotations

import subprocess
import sys

import pytest

# In a child process: dictConfig replaces the logging the test run itself relies on.
PROBE = """
import logging, logging.config, sys
from countersign.cli.log_config import log_config
logging.config.dictConfig(log_config(sys.argv[1], level=sys.argv[2], access_log=False))
logging.getLogger("countersign.server").info("probe-info")
logging.getLogger("countersign.mail").warning("probe-warning")
logging.getLogger("countersign.access").info("probe-access")
"""


def _logged(log_format: str, level: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, log_format, level],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return done.stdout + done.stderr


@pytest.mark.parametrize("log_format", ["plain", "json"])
def test_our_info_lines_show_at_the_default_level(log_format: str) -> None:
    output = _logged(log_format, "info")
    assert "probe-info" in output
    assert "probe-warning" in output
    # access_log=False: no access line (plain: uvicorn writes it, never ours).
    assert "probe-access" not in output


@pytest.mark.parametrize("log_format", ["plain", "json"])
def test_a_higher_level_hides_our_info_lines(log_format: str) -> None:
    output = _logged(log_format, "warning")
    assert "probe-info" not in output
    assert "probe-warning" in output
