"""The time, always aware and UTC: every layer asks here, so tests and rows agree."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
