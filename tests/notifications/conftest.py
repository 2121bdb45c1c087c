"""The server harness of tests/server (a real app on SQLite and on PostgreSQL), and a
user's devices and the backend as the notification tests speak to them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.testclient import WebSocketTestSession

from ..server.conftest import Harness, harness, make_harness
from ..server.test_messaging_api import assert_error, bearer

__all__ = ["Backend", "Device", "assert_error", "harness", "make_harness"]


class Device:
    """One verified browser of a user: its session and, once opened, its live stream."""

    def __init__(self, harness: Harness, user_id: str) -> None:
        self.client = harness.client
        self.harness = harness
        self.user_id = user_id
        self.headers = bearer(harness.verified(user_id)["session_token"])
        self.socket: WebSocketTestSession | None = None

    def get(self, path: str, **params: Any) -> Any:
        response = self.client.get(f"/v1/widget{path}", params=params, headers=self.headers)
        assert response.status_code == 200, response.text
        return response.json()

    def post(self, path: str, body: Any = None) -> Any:
        return self.client.post(f"/v1/widget{path}", json=body, headers=self.headers)

    def ok(self, path: str, body: Any = None) -> Any:
        response = self.post(path, body)
        assert response.status_code == 200, response.text
        return response.json()

    def ids(self, **params: Any) -> list[str]:
        return [n["id"] for n in self.get("/notifications", **params)["data"]]

    def counts(self) -> dict[str, Any]:
        return self.get("/notifications/counts")  # type: ignore[no-any-return]

    def open_stream(self) -> None:
        socket = self.client.websocket_connect("/v1/widget/stream").__enter__()
        socket.send_json({"token": self.headers["Authorization"][7:], "since": None})
        assert socket.receive_json()["type"] == "ready"
        self.socket = socket

    def next_event(self, type_: str) -> dict[str, Any]:
        """The next stream event, which must be of ``type_``."""
        assert self.socket is not None
        event = self.socket.receive_json()
        assert event["type"] == type_, event
        return event["data"]  # type: ignore[no-any-return]

    def close(self) -> None:
        if self.socket is not None:
            self.socket.__exit__(None, None, None)
            self.socket = None


class Backend:
    """The customer's backend: the server API with the app's key."""

    def __init__(self, harness: Harness) -> None:
        self.client = harness.client
        self.headers = bearer(harness.api_key)

    def send(self, **body: Any) -> Any:
        return self.client.post("/v1/notifications", json=body, headers=self.headers)

    def notify(self, user_id: str, title: str, **extra: Any) -> dict[str, Any]:
        response = self.send(user_id=user_id, title=title, **extra)
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(f"/v1{path}", params=params, headers=self.headers)


@pytest.fixture
def devices(harness: Harness) -> Iterator[Callable[..., Device]]:
    opened: list[Device] = []

    def open_device(user_id: str = "ada", *, stream: bool = False) -> Device:
        device = Device(harness, user_id)
        if stream:
            device.open_stream()
        opened.append(device)
        return device

    yield open_device
    for device in opened:
        device.close()


@pytest.fixture
def backend_api(harness: Harness) -> Backend:
    return Backend(harness)
