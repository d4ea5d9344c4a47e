"""Start the desktop app: the window first, everything heavy afterwards on workers.

``run_app`` is what ``ember`` (no command) calls. The window is on screen before torch,
llama_cpp, faiss or sentence_transformers are imported; the model loads right after, in the
background, while the composer shows why it waits.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

# Modules that must not be imported before the window shows (checked by tests and the benchmark).
HEAVY_MODULES = ("torch", "llama_cpp", "faiss", "sentence_transformers", "transformers")


def heavy_modules_loaded() -> list[str]:
    return [name for name in HEAVY_MODULES if name in sys.modules]


def create_application(argv: Sequence[str] = ()) -> object:
    """The QApplication (reused if one exists), named and iconed for Ember."""
    from ember.ui.qt import QApplication
    from ember.ui.theme import app_icon

    app = QApplication.instance() or QApplication(list(argv) or ["ember"])
    app.setApplicationName("Ember")
    app.setOrganizationName("Ember")
    app.setApplicationDisplayName("Ember")
    app.setWindowIcon(app_icon())
    return app


def create_window(
    *,
    start_background: bool = True,
    dark: bool | None = None,
    open_paths: Sequence[Path] = (),
) -> object:
    """Build the main window over a fresh :class:`~ember.core.Core` (call after
    create_application).

    ``open_paths`` (``ember FILE...``) are offered for indexing once the window has started, as
    if they had been dropped on it."""
    from ember.core import Core
    from ember.ui.qt import QApplication
    from ember.ui.tasks import TaskManager
    from ember.ui.theme import Theme
    from ember.ui.window import MainWindow

    app = QApplication.instance()
    assert isinstance(app, QApplication), "create_application() first"
    forced = os.environ.get("EMBER_THEME", "").lower()
    if dark is None and forced in ("dark", "light"):
        dark = forced == "dark"
    theme = Theme(app, dark)
    # The composition root; indexing and retrieval run in its helper process (see
    # ember.knowledge.helper) so torch never holds the window's GIL.
    services = Core(knowledge_helper=True)
    tasks = TaskManager()
    window = MainWindow(services, tasks, theme)
    tasks.setParent(window)
    # The window starts its background work (model, documents, servers) after its first paint:
    # the person sees the window while the model loads.
    window.start_background_when_shown = start_background
    window.paths_at_start = [Path(p) for p in open_paths]
    return window


def shutdown_window(window: object, timeout_ms: int = 10_000) -> None:
    """Stop workers (bounded) and close the core; safe to call twice."""
    from ember.ui.window import MainWindow

    assert isinstance(window, MainWindow)
    if getattr(window, "_shut_down", False):
        return
    window._shut_down = True  # type: ignore[attr-defined]
    if window.tasks.shutdown(timeout_ms):
        # The workers have stopped: the chat still offered for undo is erased for good now.
        if window.conversations.history_open:
            window.conversations.purge_at_exit(window.services.store)
        window.services.close()
    else:
        # A worker is still inside the engine or the stores (a very slow token, a stuck call):
        # freeing the model under it would crash the process. Leave it to the process exit.
        import logging

        logging.getLogger(__name__).warning(
            "a background task did not stop within %d ms; not closing the engine under it",
            timeout_ms,
        )


def report_first_paint(window: object, then: Callable[[dict[str, object]], None]) -> object:
    """Call ``then({"shown_at": epoch s, "cpu_s": process CPU s, "heavy": [...]})`` when
    ``window`` first paints (the start-up probe; ``benchmarks/ui.py`` measures a bare PySide6
    window the same way)."""
    from ember.ui.qt import QEvent, QObject, QWidget

    assert isinstance(window, QWidget)

    class FirstPaint(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint:
                window.removeEventFilter(self)
                then(
                    {
                        "shown_at": time.time(),
                        "cpu_s": time.process_time(),
                        "heavy": heavy_modules_loaded(),
                    }
                )
            return False

    spy = FirstPaint(window)
    window.installEventFilter(spy)
    return spy


def run_app(argv: Sequence[str], paths: Sequence[Path] = ()) -> int:
    """Run the desktop app until its window closes; returns the exit status.

    ``paths`` (files or folders from ``ember PATH...``) are offered for indexing, a ``.gguf``
    is added as a model, once the window is up."""
    started = time.time()
    app = create_application(argv)
    from ember.ui.qt import QApplication, QTimer

    assert isinstance(app, QApplication)
    probe = os.environ.get("EMBER_STARTUP_PROBE") == "1"
    window = create_window(start_background=not probe, open_paths=() if probe else paths)
    if probe:
        # Benchmarks and tests: report when the window first paints and what was imported by
        # then, and close.
        def report(shown: dict[str, object]) -> None:
            print(json.dumps({**shown, "started_at": started}), flush=True)
            QTimer.singleShot(0, window.close)  # type: ignore[attr-defined]

        report_first_paint(window, report)
    window.show()  # type: ignore[attr-defined]
    app.aboutToQuit.connect(lambda: shutdown_window(window))
    return int(app.exec())


if __name__ == "__main__":
    raise SystemExit(run_app(sys.argv))
