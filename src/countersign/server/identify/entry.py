"""One identify outcome on its way to the verification log (``recorder.py``), and to
the ``identity.failed`` webhook (``triggers.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(slots=True)
class PendingEntry:
    app_id: str
    at: datetime
    outcome: str
    method: str
    identifier: str | None
    origin: str | None
    client_ip: str | None
    secret_id: str | None = None
    code: str = "ok"
    hint: str = ""
    # For a hash failure still to be diagnosed; dropped once it is.
    signature: object = None
    other_identifier: str | None = None
    needs_diagnosis: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
