"""A secret put in a URL's query string never reaches the access log."""

from __future__ import annotations

import contextlib
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from countersign.server.access_log import redact_query
from tests.cli.serving import serving

SECRETS = ("tok_SeCrEt_1234567890", "sk_live_AbCdEf0987654321", "eyJhbGciOiJIUzI1NiJ9.x.y")


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/v1/widget/conversations", "/v1/widget/conversations"),
        ("/a?cursor=abc&limit=5", "/a?cursor=[redacted]&limit=[redacted]"),
        ("/a?tok_SeCrEt", "/a?[redacted]"),
        ("/a?x=1&&=2&" + "n" * 60 + "=3", "/a?x=[redacted]&[redacted]&[redacted]&[redacted]"),
        ("/a?", "/a?[redacted]"),
    ],
)
def test_query_values_are_redacted(path: str, logged: str) -> None:
    assert redact_query(path) == logged


@pytest.mark.parametrize("workers", ["1", "2"])
def test_tokens_in_urls_are_absent_from_the_access_log(tmp_path: Path, workers: str) -> None:
    paths = [
        f"/v1/widget/conversations?session_token={SECRETS[0]}",
        f"/v1/users/u-1/notifications?api_key={SECRETS[1]}&limit=2",
        f"/healthz?{SECRETS[2]}",
    ]
    log = tmp_path / "server.log"
    args = ["--data-dir", str(tmp_path / "data"), "--workers", workers, "--access-log"]
    with log.open("wb") as output, serving(args, output=output) as (_, port):
        for _ in range(3):  # with two workers, most likely each serves one
            for path in paths:
                # Refused, as it should be: the log line is what is tested.
                with contextlib.suppress(urllib.error.HTTPError):
                    urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5).close()
    output = log.read_text()
    assert "GET /v1/widget/conversations?session_token=[redacted] HTTP/1.1" in output
    assert "GET /v1/users/u-1/notifications?api_key=[redacted]&limit=[redacted]" in output
    for secret in SECRETS:
        assert secret not in output
