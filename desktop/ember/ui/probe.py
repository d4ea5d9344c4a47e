"""Measures how long the GUI event loop goes without running (for tests and benchmarks)."""

from __future__ import annotations

import time

from ember.ui.qt import QObject, QTimer


class StallProbe(QObject):
    """A timer that should fire every ``interval_ms``; the longest extra wait is the worst stall.

    ``over_goal`` counts the stalls longer than ``goal_ms`` (50 ms: what a person notices)."""

    def __init__(
        self, interval_ms: int = 10, parent: QObject | None = None, goal_ms: float = 50.0
    ) -> None:
        super().__init__(parent)
        self.interval_s = interval_ms / 1000
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)
        self._last: float | None = None
        self.worst_ms = 0.0
        self.ticks = 0
        self.goal_ms = goal_ms
        self.over_goal = 0

    def start(self) -> None:
        self.worst_ms = 0.0
        self.ticks = 0
        self.over_goal = 0
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> float:
        self._timer.stop()
        return self.worst_ms

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            stall = (now - self._last - self.interval_s) * 1000
            self.worst_ms = max(self.worst_ms, stall)
            self.over_goal += stall > self.goal_ms
        self._last = now
        self.ticks += 1
