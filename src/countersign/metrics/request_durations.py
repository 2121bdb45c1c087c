"""Request durations counted in plain Python, moved into Prometheus about once a second.

``Histogram.observe`` takes two locks and walks the buckets in Python: on identify,
with the request id, that came to ~9 % of the server's CPU per request
(``benchmarks/identify.py``, medians of alternated runs). Here a request adds one to
a list slot found by ``bisect`` and its seconds to a sum, on the event loop's thread
only; :func:`flush` adds those to the histogram's own counters, on the same thread
(the server runs it every second and before it answers a scrape). A scrape of another
process (``--metrics-port``, a second worker's) sees them at most a second late.

Part of ``metrics``, which imports only ``background`` of the package besides.
"""

from __future__ import annotations

import asyncio
from bisect import bisect_left
from typing import Final

from ..background import stopped_within
from . import REQUEST_BUCKETS, REQUEST_SECONDS

_BOUNDS: Final = list(REQUEST_BUCKETS)
# Per (route, method, status): a count per bucket (the last is +Inf), then the sum.
_pending: dict[tuple[str, str, str], list[float]] = {}


def observe(route: str, method: str, status: int, seconds: float) -> None:
    key = (route, method, str(status))
    slots = _pending.get(key)
    if slots is None:
        slots = _pending[key] = [0.0] * (len(_BOUNDS) + 2)
    # Prometheus' "le": the first bucket whose bound is >= the value.
    slots[bisect_left(_BOUNDS, seconds)] += 1
    slots[-1] += seconds


async def flush_until(stop: asyncio.Event, every: float = 1.0) -> None:
    """The server's loop: :func:`flush` every ``every`` seconds, and once at the end."""
    while not await stopped_within(stop, every):
        flush()
    flush()


def flush() -> None:
    """Move what was counted since the last flush into ``REQUEST_SECONDS``."""
    global _pending
    pending, _pending = _pending, {}
    for labels, slots in pending.items():
        child = REQUEST_SECONDS.labels(*labels)
        # The histogram keeps a non-cumulative counter per bucket and one for the sum
        # (prometheus_client's Histogram.observe adds to exactly these); it has no
        # public way to add many observations at once. tests/server/test_metrics.py
        # checks the result against observe()'s.
        for bucket, count in zip(child._buckets, slots[:-1], strict=True):
            if count:
                bucket.inc(count)
        child._sum.inc(slots[-1])
