"""Start the desktop app: the window first, everything heavy afterwards on workers.

``run_app`` is what ``ember`` (no command) calls. The window is on screen before torch,
llama_cpp, faiss or sentence_transformers are imported; the model loads right after, in the
background, while the composer shows why it waits.

``EMBER_LOG_LEVEL=debug`` (or ``info``) logs to stderr what the app does (windows shown, the
window filled in, the model ready, shutdown): the subprocess tests read it. SIGTERM closes the
window as the person would, so nothing is lost, and the app exits with status 0.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

log = logging.getLogger(__name__)

# Modules that must not be imported before the window shows (checked by tests and the benchmark).
HEAVY_MODULES = ("torch", "llama_cpp", "faiss", "sentence_transformers", "transformers")


# The desktop entry's file name without ``.desktop`` (build-deb.sh's APP_ID).
DESKTOP_FILE_NAME = "ember"


def heavy_modules_loaded() -> list[str]:
    return [name for name in HEAVY_MODULES if name in sys.modules]


def require_qt() -> None:
    """Load Qt's widget modules, or raise :class:`~ember.system_libraries.SystemLibraryMissing`
    naming the system library (and Debian package) the loader could not find. Called first by
    :func:`run_app`: the window imports these modules right after anyway."""
    from importlib import import_module

    from ember.system_libraries import SystemLibraryMissing, missing_library_message

    try:
        for module in ("PySide6.QtCore", "PySide6.QtGui", "PySide6.QtWidgets"):
            import_module(module)
    except ImportError as exc:
        message = missing_library_message(str(exc))
        if message is None:
            raise
        raise SystemLibraryMissing(message) from None


def create_application(argv: Sequence[str] = ()) -> object:
    """The QApplication (reused if one exists), named and iconed for Ember.

    In a bundle, the environment gets the person's ``QT_PLUGIN_PATH`` back once Qt has read the
    bundle's (:func:`ember.bundle.restore_qt_plugin_path`): Qt keeps its plugin folders, and the
    programs Ember opens do not load the bundle's plugins."""
    from ember.bundle import bundle_dir, restore_qt_plugin_path
    from ember.ui.qt import QApplication, QCoreApplication
    from ember.ui.theme import app_icon

    app = QApplication.instance() or QApplication(list(argv) or ["ember"])
    root = bundle_dir()
    if root is not None:
        QCoreApplication.libraryPaths()  # computed from the environment now, then kept
        restore_qt_plugin_path(os.environ, root)
    app.setApplicationName("Ember")
    app.setOrganizationName("Ember")
    app.setApplicationDisplayName("Ember")
    # The desktop entry's name (packaging/linux/ember.desktop): Wayland's app id and KDE's window
    # match find its icon and group the windows by it.
    app.setDesktopFileName(DESKTOP_FILE_NAME)
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
    from ember.ui.theme import Theme, dark_for, saved_choice
    from ember.ui.window import MainWindow

    app = QApplication.instance()
    assert isinstance(app, QApplication), "create_application() first"
    forced = os.environ.get("EMBER_THEME", "").lower()
    if dark is None and forced in ("dark", "light"):
        dark = forced == "dark"
    # The composition root; indexing and retrieval run in its helper process (see
    # ember.knowledge.helper) so torch never holds the window's GIL.
    core = Core(knowledge_helper=True)
    theme = Theme(app, dark if dark is not None else dark_for(saved_choice(core.paths.config_file)))
    tasks = TaskManager()
    window = MainWindow(core, tasks, theme)
    tasks.setParent(window)
    # The window starts its background work (model, documents, servers) after its first paint:
    # the person sees the window while the model loads.
    window.start_background_when_shown = start_background
    window.paths_at_start = [Path(p) for p in open_paths]
    if open_paths:
        log.info("offering %d path(s) once the window is up", len(open_paths))
    return window


def shutdown_window(window: object, timeout_ms: int = 10_000) -> None:
    """Stop workers (bounded) and close the core; safe to call twice."""
    from ember.ui.window import MainWindow

    assert isinstance(window, MainWindow)
    if getattr(window, "_shut_down", False):
        return
    window._shut_down = True  # type: ignore[attr-defined]
    # The chat still offered for undo is erased for good, queued before the workers stop.
    window.conversations.purge_at_exit()
    api_stopped = window.api.shutdown()  # bounded; no request may be left inside the core
    if window.tasks.shutdown(timeout_ms) and api_stopped:
        window.core.close()
    else:
        # A worker is still inside the engine or the stores (a very slow token, a stuck call):
        # freeing the model under it would crash the process. Leave it to the process exit.
        log.warning(
            "a background task did not stop within %d ms; not closing the engine under it",
            timeout_ms,
        )
        return
    log.info("shut down: background tasks stopped, stores closed")


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


def _configure_logging() -> None:
    """Log Ember's own messages to stderr at ``EMBER_LOG_LEVEL`` (debug, info, ...), if set;
    other libraries' at warning and above."""
    level = os.environ.get("EMBER_LOG_LEVEL", "").upper()
    if level:
        logging.basicConfig(
            stream=sys.stderr,
            level=logging.WARNING,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        logging.getLogger("ember").setLevel(level)


def _close_on_sigterm(app: object) -> Callable[[], None]:
    """Handle SIGTERM by closing every window (each saves its state) and quitting; returns the
    function that puts the previous handling back.

    Python runs signal handlers only between bytecodes, never while Qt's C++ event loop waits:
    the handler's wake-up byte lands on a socket that a QSocketNotifier watches, whose slot
    gives Python that moment."""
    from ember.ui.qt import QApplication, QSocketNotifier, QTimer

    assert isinstance(app, QApplication)
    receive, send = socket.socketpair()
    receive.setblocking(False)
    send.setblocking(False)
    previous_fd = signal.set_wakeup_fd(send.fileno())

    def terminate(_signum: int, _frame: object) -> None:
        log.info("SIGTERM: closing the window")
        QTimer.singleShot(0, lambda: (app.closeAllWindows(), app.quit()))

    previous_handler = signal.signal(signal.SIGTERM, terminate)
    notifier = QSocketNotifier(receive.fileno(), QSocketNotifier.Type.Read, app)
    notifier.activated.connect(lambda *_: receive.recv(64))

    def restore() -> None:
        notifier.setEnabled(False)
        signal.signal(signal.SIGTERM, previous_handler)
        signal.set_wakeup_fd(previous_fd)
        notifier.deleteLater()
        receive.close()
        send.close()

    return restore


def _log_progress(window: object) -> None:
    """At debug level: log each window as it is shown, and when the main window has filled in
    and its model is ready (the window has no signals for these; a light check every 50 ms)."""
    from ember.ui.qt import QApplication, QEvent, QObject, QTimer, QWidget
    from ember.ui.window import MainWindow

    assert isinstance(window, MainWindow)
    app = QApplication.instance()

    class ShownWindows(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if (
                event.type() == QEvent.Type.Show
                and isinstance(watched, QWidget)
                and watched.isWindow()
            ):
                name = watched.objectName() or type(watched).__name__
                log.debug("shown: %s %r", name, watched.windowTitle())
            return False

    spy = ShownWindows(window)
    app.installEventFilter(spy)
    said: set[str] = set()

    def check() -> None:
        if "started" not in said and window.started:
            said.add("started")
            log.debug("started: chat %s open", window.conversation_id)
        loaded = window.core.loaded
        if "model" not in said and loaded is not None and not window.model_loading:
            said.add("model")
            log.debug("model ready: %s", loaded.name)
        if len(said) == 2:
            timer.stop()

    timer = QTimer(window)
    timer.timeout.connect(check)
    timer.start(50)


def _hand_over(data_dir: Path, paths: Sequence[Path]) -> int:
    """Ember already runs over ``data_dir``: give it ``paths`` and say so on stderr; returns
    the exit status (1 when it does not answer)."""
    from ember.ui import single_instance

    handed = single_instance.send(single_instance.server_name(data_dir), paths)
    if handed.delivered:
        what = single_instance.describe(paths)
        done = f"sent it {what}" if what else "brought its window forward"
        print(f"Ember is already running; {done}.", file=sys.stderr)
        return 0
    pid = single_instance.holder(data_dir)
    running = f"Ember is already running (process {pid})" if pid else "Ember is already running"
    print(
        f"ember: {running} for {data_dir}, but {handed.problem}. Close it, or end it if it "
        "is stuck, and start Ember again.",
        file=sys.stderr,
    )
    return 1


def _bring_forward(window: object, paths: list[Path]) -> None:
    """A later start asked: show the window in front and offer its paths."""
    from ember.ui.window import MainWindow

    assert isinstance(window, MainWindow)
    if window.isMinimized():
        window.showNormal()
    window.raise_()
    window.activateWindow()
    if paths:
        window.offer_paths(paths)


def run_app(argv: Sequence[str], paths: Sequence[Path] = ()) -> int:
    """Run the desktop app until its window closes; returns the exit status.

    ``paths`` (files or folders from ``ember PATH...``) are offered for indexing, a ``.gguf``
    is added as a model, once the window is up. When Ember already runs over the same data
    folder, the paths go to that window instead (:mod:`ember.ui.single_instance`) and this
    process exits at once."""
    started = time.time()
    _configure_logging()
    require_qt()
    probe = os.environ.get("EMBER_STARTUP_PROBE") == "1"
    instance = None
    if not probe:  # a probe measures a start: it neither owns the data nor hands over to who does
        from ember.paths import ember_paths
        from ember.ui import single_instance

        data_dir = ember_paths().data_dir
        instance = single_instance.claim(data_dir)
        if instance is None:
            return _hand_over(data_dir, paths)
    app = create_application(argv)
    from ember.ui.qt import QApplication, QTimer

    assert isinstance(app, QApplication)
    restore_sigterm = _close_on_sigterm(app)
    window = create_window(start_background=not probe, open_paths=() if probe else paths)
    if instance is not None:
        instance.pathsReceived.connect(lambda later: _bring_forward(window, later))
        instance.listen()
    if probe:
        # Benchmarks and tests: report when the window first paints and what was imported by
        # then, and close.
        def report(shown: dict[str, object]) -> None:
            print(json.dumps({**shown, "started_at": started}), flush=True)
            QTimer.singleShot(0, window.close)  # type: ignore[attr-defined]

        report_first_paint(window, report)
    if log.isEnabledFor(logging.DEBUG):
        _log_progress(window)
    window.show()  # type: ignore[attr-defined]
    app.aboutToQuit.connect(lambda: shutdown_window(window))
    status = int(app.exec())
    restore_sigterm()
    if instance is not None:
        instance.release()
    log.info("exiting with status %d", status)
    return status


if __name__ == "__main__":
    raise SystemExit(run_app(sys.argv))
