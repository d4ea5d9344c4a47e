"""Watched folders while the app runs: a thread per collection says when its folders changed.

The threads only notice (watchdog events, debounced; polling where the platform cannot watch);
the re-index itself goes through the documents controller, so one indexing run at a time writes
and it shows in the status bar like any other.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from ember.ui.qt import QObject, Qt, Signal

if TYPE_CHECKING:
    from ember.cancel import CancelToken

log = logging.getLogger(__name__)

# Without file-system events an incremental run every this many seconds is the fallback: it
# costs a helper process and one stat per file, so not every few seconds.
POLL_S = 60.0


class _Relay(QObject):
    changed = Signal(str)  # emitted from a watcher thread, delivered on the GUI thread


class FolderWatcher(QObject):
    """Watches each collection's folders; ``changed(collection, folders)`` once they settle."""

    changed = Signal(str, object)  # collection, list[Path] of its watched folders

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._relay = _Relay(self)
        self._relay.changed.connect(self._relayed, Qt.ConnectionType.QueuedConnection)
        self._running: dict[str, tuple[tuple[str, ...], CancelToken, threading.Thread]] = {}
        self._ready: set[CancelToken] = set()  # watches whose events (or polling) have started

    @property
    def watched(self) -> dict[str, tuple[str, ...]]:
        """The folders watched now, by collection name."""
        return {name: folders for name, (folders, _t, _th) in self._running.items()}

    def set_watched(self, watched: dict[str, tuple[str, ...]]) -> None:
        """Watch exactly these folders (absolute paths) for these collections; stop the rest."""
        for name in list(self._running):
            if watched.get(name) != self._running[name][0]:
                self._stop(name)
        for name, folders in watched.items():
            if folders and name not in self._running:
                self._start(name, folders)

    def is_ready(self, name: str) -> bool:
        """Whether the watch of ``name`` is running: a change made from now on is noticed."""
        entry = self._running.get(name)
        return entry is not None and entry[1] in self._ready

    def stop_all(self) -> None:
        """Stop every watch (the window closes); threads end within about half a second."""
        for name in list(self._running):
            self._stop(name)

    def _start(self, name: str, folders: tuple[str, ...]) -> None:
        from ember.cancel import CancelToken
        from ember.knowledge.watch import watch_changes

        cancel = CancelToken()
        relay, ready = self._relay, self._ready

        def body() -> None:
            try:
                watch_changes(
                    [Path(f) for f in folders],
                    cancel=cancel,
                    on_change=lambda: relay.changed.emit(name),
                    poll_s=POLL_S,
                    on_ready=lambda _events: ready.add(cancel),
                )
            except Exception:  # a watch that breaks must not take the app with it
                log.exception("watching the folders of %s stopped", name)

        thread = threading.Thread(target=body, name=f"ember-watch-{name}", daemon=True)
        self._running[name] = (folders, cancel, thread)
        thread.start()

    def _stop(self, name: str) -> None:
        _folders, cancel, _thread = self._running.pop(name)
        cancel.cancel()
        self._ready.discard(cancel)

    def _relayed(self, name: str) -> None:
        entry = self._running.get(name)
        if entry is not None:
            self.changed.emit(name, [Path(f) for f in entry[0]])
