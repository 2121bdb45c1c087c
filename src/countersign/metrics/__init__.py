"""What Countersign counts for Prometheus, defined once for every layer that counts.

One process (``serve`` with one worker) keeps the values in memory. With ``--workers
N``, ``serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at an empty directory before any
worker starts, and prometheus-client keeps each value in a memory-mapped file there, so
whichever worker answers a scrape reports the sum over all of them
(:func:`exposition`). The label values are bounded by design: route templates (never a
raw path), outcome and method names, diagnosis codes, limiter names.

Queue depths and ages are not counted here: they are read from the database when
scraped (``server/metrics_route.py``), so they are right whichever node answers.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Final

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector

MULTIPROCESS_VARIABLE: Final = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE: Final = CONTENT_TYPE_LATEST

IDENTIFY_OUTCOMES: Final = Counter(
    "countersign_identify",
    "Identify requests by outcome, method and diagnosis code (failures only)",
    ["status", "method", "code"],
)
REQUEST_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
#: Observed through ``request_durations`` (counted cheaply, flushed each second).
REQUEST_SECONDS: Final = Histogram(
    "countersign_request_duration_seconds",
    "HTTP requests by route template, method and status",
    ["route", "method", "status"],
    buckets=REQUEST_BUCKETS,
)
OPEN_STREAMS: Final = Gauge(
    "countersign_open_streams",
    "Widget streams (WebSockets) open now",
    multiprocess_mode="livesum",
)
STREAM_EVENTS: Final = Counter(
    "countersign_stream_events_sent", "Stream events sent to connected widgets"
)
WEBHOOK_ATTEMPTS: Final = Counter(
    "countersign_webhook_attempts",
    "Webhook delivery attempts by outcome",
    ["outcome"],  # delivered | failed
)
MAIL_ATTEMPTS: Final = Counter(
    "countersign_mail_attempts",
    "Email send attempts by outcome",
    ["outcome"],  # sent | failed
)
RATE_LIMITED: Final = Counter(
    "countersign_rate_limited", "Requests refused by a rate limit", ["limiter"]
)
TRANSACTION_SECONDS: Final = Histogram(
    "countersign_db_transaction_seconds",
    "Database units of work, begin to commit",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.0),
)


QueueReading = Callable[[], tuple[int, datetime | None]]


class QueueCollector(Collector):
    """A queue's depth and the age of its oldest item, from ``read`` at each scrape."""

    def __init__(self, name: str, what: str, read: QueueReading) -> None:
        self._name, self._what, self._read = name, what, read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth, oldest = self._read()
        age = (datetime.now(UTC) - oldest).total_seconds() if oldest is not None else 0.0
        yield GaugeMetricFamily(
            f"countersign_{self._name}_queue_depth", f"{self._what} waiting", value=depth
        )
        yield GaugeMetricFamily(
            f"countersign_{self._name}_queue_oldest_seconds",
            f"Age of the oldest of the {self._what.lower()} waiting (0 when none waits)",
            value=max(age, 0.0),
        )


def exposition(*extra: Collector) -> bytes:
    """Every value in Prometheus' text format: this process's, or all workers' when
    they share a multiprocess directory, with ``extra`` collectors (read per scrape)."""
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROCESS_VARIABLE):
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        for collector in extra:
            registry.register(collector)
        return generate_latest(registry)
    for collector in extra:
        registry.register(collector)
    return generate_latest(REGISTRY) + generate_latest(registry)
