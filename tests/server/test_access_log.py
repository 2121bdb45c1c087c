"""The access log never carries a one-time join link's token."""

from __future__ import annotations

import logging

import pytest

from countersign.server import access_log
from countersign.server.app import create_app
from countersign.settings import load_settings

TOKEN = "csi_" + "Q" * 43


def test_a_join_path_is_logged_without_its_token(caplog: pytest.LogCaptureFixture) -> None:
    create_app(load_settings(environ={}))  # installs the filter, as serve does
    create_app(load_settings(environ={}))  # ... once
    logger = logging.getLogger(access_log.ACCESS_LOGGER)
    assert sum(isinstance(f, access_log.RedactSecrets) for f in logger.filters) == 1
    with caplog.at_level(logging.INFO, logger=access_log.ACCESS_LOGGER):
        for path in (f"/dashboard/join/{TOKEN}", f"/dashboard/join/{TOKEN}?x=1", "/healthz"):
            logger.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET", path, "1.1", 200)
    lines = [record.getMessage() for record in caplog.records]
    assert all(TOKEN not in line for line in lines)
    assert lines[0] == '127.0.0.1:5 - "GET /dashboard/join/[redacted] HTTP/1.1" 200'
    assert lines[2] == '127.0.0.1:5 - "GET /healthz HTTP/1.1" 200'
