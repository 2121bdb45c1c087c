"""``--log-format json``: one JSON object per line, for a log pipeline to index.

Every line has ``time`` (UTC, ISO 8601), ``level``, ``logger`` and ``event`` (the
message), and, while a request is served, its ``request_id`` and ``app_id``; an access
line adds ``method``, ``route``, ``path`` (query values redacted), ``status`` and
``duration_ms``. Values come from the code's own messages, which never hold a secret,
hash, token, API key or password (tests/server/test_log_secrets.py sends every kind
through every route and reads both formats).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, Final

import msgspec

from .request_context import current

#: Attributes an access line carries (set as ``extra`` by the request observer).
ACCESS_FIELDS: Final = ("method", "route", "path", "status", "duration_ms")
_encoder = msgspec.json.Encoder()


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        info = current.get()
        if info is not None:
            document["request_id"] = info.request_id
            if info.app_id is not None:
                document["app_id"] = info.app_id
        for field in ACCESS_FIELDS:
            if (value := record.__dict__.get(field)) is not None:
                document[field] = value
        if record.exc_info:
            document["error"] = self.formatException(record.exc_info)
        return _encoder.encode(document).decode("utf-8")
