"""A client that leaves mid-body gets no 500 (and leaves no traceback in the log)."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Harness


def test_disconnect_mid_body_is_not_a_server_error(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    sent: list[dict[str, Any]] = []
    chunks = [
        {"type": "http.request", "body": b'{"app_id": "', "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> dict[str, Any]:
        return chunks.pop(0) if chunks else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/widget/identify",
        "raw_path": b"/v1/widget/identify",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    harness.client.portal.call(harness.client.app, scope, receive, send)  # type: ignore[union-attr]
    start = next(message for message in sent if message["type"] == "http.response.start")
    assert start["status"] == 400
    assert not [record for record in caplog.records if record.levelname == "ERROR"]
