"""The operators' dashboards open on this node (widgets are the hub's to know)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable


class OpenDashboards:
    def __init__(self) -> None:
        self._open: Counter[str] = Counter()

    def open(self, operator_id: str) -> Callable[[], None]:
        """Count a dashboard of ``operator_id`` open; the callable closes it (once)."""
        self._open[operator_id] += 1
        closed = False

        def close() -> None:
            nonlocal closed
            if not closed:
                closed = True
                self._open[operator_id] -= 1
                if self._open[operator_id] <= 0:
                    del self._open[operator_id]

        return close

    def operator_ids(self) -> set[str]:
        return set(self._open)

    def has(self, operator_id: str) -> bool:
        return operator_id in self._open
