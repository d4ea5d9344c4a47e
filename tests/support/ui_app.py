"""Helpers for tests that drive the real desktop app (real model, real stores, offscreen Qt)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ember.config import Settings, save_settings
from ember.ui.qt import (
    QApplication,
    QDropEvent,
    QMimeData,
    QObject,
    QPointF,
    QRect,
    Qt,
    QTimer,
    QUrl,
    QWidget,
    Slot,
)

MODEL_LOAD_TIMEOUT_MS = 60_000
ANSWER_TIMEOUT_MS = 120_000


def deterministic_settings(**overrides: object) -> Settings:
    """Temperature 0 and a fixed seed: the embedded model answers the same way every run."""
    values: dict[str, object] = {
        "temperature": 0.0,
        "seed": 7,
        "max_tokens": 48,
        "n_ctx": 2048,
        "threads": 2,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def open_window(  # type: ignore[no-untyped-def]
    qtbot,
    settings: Settings | None = None,
    wait_for_model: bool = True,
    open_paths: Sequence[Path] = (),
):
    """The real main window over this test's EMBER_HOME, shown, with its model loaded.

    ``open_paths`` are handed over as ``ember PATH...`` hands them to ``run_app``."""
    from ember.ui.app import create_application, create_window

    if settings is not None:
        save_settings(settings)
    create_application()
    window = create_window(open_paths=open_paths)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    # Chats, the last conversation and the model load start right after the first paint.
    qtbot.waitUntil(lambda: window.started, timeout=5000)
    if wait_for_model:
        qtbot.waitUntil(
            lambda: window.core.loaded is not None and not window.model_loading,
            timeout=MODEL_LOAD_TIMEOUT_MS,
        )
    return window


def open_window_on_chat(qtbot, chat_id: int, size: tuple[int, int] = (1180, 780)):  # type: ignore[no-untyped-def]
    """The real window, shown, active and started, with chat ``chat_id`` open and its messages
    laid out (no model loaded: start_background=False). Close it with :func:`close_window`."""
    from ember.ui.app import create_application, create_window

    create_application()
    win = create_window(start_background=False)
    qtbot.addWidget(win)
    win.resize(*size)
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    qtbot.waitUntil(lambda: win.started, timeout=10_000)
    win.open_conversation(chat_id)
    wait_chats(qtbot, win)
    qtbot.waitUntil(lambda: win.conversation_id == chat_id, timeout=10_000)
    settle(qtbot)
    return win


def wait_chats(qtbot, window, timeout: int = 10_000) -> None:  # type: ignore[no-untyped-def]
    """Wait until every chat-history call the window queued has answered (they run off the
    GUI thread; opening, renaming, deleting and exporting a chat all land a moment later)."""
    qtbot.waitUntil(lambda: not window.chat_db.busy, timeout=timeout)


def close_window(window) -> None:  # type: ignore[no-untyped-def]
    from ember.ui.app import shutdown_window

    window.close()
    shutdown_window(window)


def send_and_wait(qtbot, window, text: str) -> None:  # type: ignore[no-untyped-def]
    """Type ``text`` in the composer, press Enter, wait until the answer is complete."""
    window.composer.input.setPlainText(text)
    qtbot.keyClick(window.composer.input, Qt.Key.Key_Return)
    assert window.generation is not None, "pressing Enter should have started an answer"
    qtbot.waitUntil(lambda: window.generation is None, timeout=ANSWER_TIMEOUT_MS)


def drop_paths(widget: QWidget, paths: list[Path]) -> None:
    """Send a real drag-and-drop sequence with file URLs to ``widget``."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    from ember.ui.qt import QDragEnterEvent

    enter = QDragEnterEvent(
        pos.toPoint(),  # QDragEnterEvent takes integer positions (QPoint) up to PySide6 6.11
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted(), "the window should accept dragged files"
    drop = QDropEvent(
        pos,
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(widget, drop)


def find_dialog(window, name: str):  # type: ignore[no-untyped-def]
    """The visible top-level dialog whose objectName is ``name``, or None."""
    for widget in QApplication.topLevelWidgets():
        if widget.objectName() == name and widget.isVisible():
            return widget
    return window.findChild(QWidget, name)


class ConnectionRecorder:
    """A real TCP listener on 127.0.0.1 that records every connection made to it."""

    def __init__(self) -> None:
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(8)
        self.server.settimeout(0.1)
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            conn.close()

    @contextmanager
    def running(self) -> Iterator[ConnectionRecorder]:
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join(2)
            self.server.close()


def settle(qtbot) -> None:  # type: ignore[no-untyped-def]
    """Let queued layout requests run (a layout change lands on the next event loop turns)."""
    done: list[bool] = []
    QTimer.singleShot(50, lambda: done.append(True))
    qtbot.waitUntil(lambda: bool(done), timeout=5000)


def rect_in(widget: QWidget, ancestor: QWidget) -> QRect:
    """``widget``'s rectangle in ``ancestor``'s coordinates."""
    return QRect(widget.mapTo(ancestor, widget.rect().topLeft()), widget.size())


class UrlCatcher(QObject):
    """A URL handler for QDesktopServices.setUrlHandler: records what would have opened."""

    def __init__(self) -> None:
        super().__init__()
        self.opened: list[QUrl] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.opened.append(url)
