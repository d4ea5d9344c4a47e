"""Run something right after a window's first paint, so the window shows before slow work."""

from __future__ import annotations

from collections.abc import Callable

from ember.ui.qt import QEvent, QObject, QTimer, QWidget


class AfterFirstPaint(QObject):
    """Calls ``then`` once, right after the window's first paint (or after a short while when
    the window stays hidden, e.g. started minimised), then removes itself."""

    FALLBACK_MS = 1000

    def __init__(self, window: QWidget, then: Callable[[], None]) -> None:
        super().__init__(window)
        self._window = window
        self._then: Callable[[], None] | None = then
        window.installEventFilter(self)
        QTimer.singleShot(self.FALLBACK_MS, self, self._fire)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self._window.removeEventFilter(self)
            QTimer.singleShot(0, self, self._fire)  # after this paint has reached the screen
        return False

    def _fire(self) -> None:
        if self._then is not None:
            then, self._then = self._then, None
            then()
