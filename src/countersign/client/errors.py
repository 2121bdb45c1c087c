"""The one exception the client raises for an error answer."""

from __future__ import annotations

from typing import Any


class CountersignError(Exception):
    """An error answer: ``status`` (HTTP), ``code`` (the API's, e.g. ``invalid_api_key``)
    and ``message``; ``retry_after`` (seconds) when the server said when to retry."""

    def __init__(
        self, status: int, code: str, message: str, retry_after: float | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.retry_after = status, code, message, retry_after

    @classmethod
    def from_answer(cls, status: int, body: Any, retry_after: float | None) -> CountersignError:
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            return cls(status, str(error.get("code")), str(error.get("message")), retry_after)
        return cls(status, "http_error", f"HTTP {status}", retry_after)
