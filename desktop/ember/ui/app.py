"""Start the desktop app (placeholder window until the desktop UI lands)."""

from __future__ import annotations

from collections.abc import Sequence


def run_app(argv: Sequence[str]) -> int:
    from PySide6.QtWidgets import QApplication, QLabel

    app = QApplication.instance() or QApplication(list(argv) or ["ember"])
    label = QLabel("Ember — the chat window is coming. Use `ember ask` meanwhile.")
    label.setWindowTitle("Ember")
    label.resize(640, 400)
    label.show()
    return app.exec()
