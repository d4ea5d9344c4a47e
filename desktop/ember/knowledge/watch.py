"""Keep a collection in step with folders: re-index after changes settle.

File-system events (watchdog) only say *that* something changed; what to do is decided by an
ordinary incremental run over the watched paths, which skips unchanged files with one ``stat``
each. Events are debounced: a run starts once no event has arrived for ``debounce_s`` (an editor's
save, a ``git checkout`` or a copy of 500 files becomes one run). Without watchdog, or where the
platform cannot watch, the paths are polled every ``poll_s`` instead.

Only events that can change what indexing finds count: at a watched file (its folder is watched,
the rest of that folder is not), or inside a watched folder on an entry discovery does not pass
over. Hidden entries, cache folders and Ember's own data, cache and config folders are ignored,
as :mod:`ember.knowledge.discover` ignores them: a watched home folder holding Ember's data would
otherwise re-index itself forever (every SQLite and FAISS write of a run starts the next run).
Runs a watch starts are ``watched`` runs: a root that is gone (an unplugged drive) keeps its
documents; only a run the person asks for forgets them.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ember.cancel import CancelToken

if TYPE_CHECKING:
    from ember.knowledge import KnowledgeBase
    from ember.knowledge.ingest import IngestReport

DEFAULT_DEBOUNCE_S = 1.0
DEFAULT_POLL_S = 10.0


class ChangeSignal:
    """Collects change notifications from watcher threads; wait for them to go quiet."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._last: float | None = None

    def notify(self) -> None:
        """Record a change now (called from watcher threads) and wake :meth:`wait_quiet`."""
        with self._cond:
            self._last = time.monotonic()
            self._cond.notify_all()

    def wait_quiet(self, debounce_s: float, timeout_s: float) -> bool:
        """True once a change happened and then ``debounce_s`` passed without another."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                now = time.monotonic()
                if self._last is not None and now - self._last >= debounce_s:
                    self._last = None
                    return True
                if now >= deadline:
                    return False
                wait = deadline - now
                if self._last is not None:
                    wait = min(wait, self._last + debounce_s - now)
                self._cond.wait(max(0.01, wait))


class EventFilter:
    """Which changes to paths matter to a watch on ``paths`` (files and folders, the roots of a
    collection): see :meth:`matters`."""

    def __init__(self, paths: Sequence[Path]) -> None:
        from ember.knowledge.discover import own_dirs

        self.folders = tuple(os.path.abspath(p) for p in paths if p.is_dir())
        self.files = frozenset(os.path.abspath(p) for p in paths if not p.is_dir())
        self.own = own_dirs()

    def targets(self) -> list[tuple[str, bool]]:
        """What to observe, as (folder, recursive): each watched folder with everything in it,
        and the folder holding each watched file (its other entries are filtered out)."""
        found = {(folder, True) for folder in self.folders}
        found |= {(os.path.dirname(file), False) for file in self.files}
        return sorted(found)

    def matters(self, path: str, *, folder: bool) -> bool:
        """Whether a change at ``path`` (``folder``: it is a folder) can change what indexing
        the watched paths finds: a watched file, or an entry inside a watched folder that is not
        hidden, a cache folder or in Ember's own folders (nor inside one)."""
        from ember.knowledge.discover import is_within, passed_over_name

        path = os.path.abspath(path)
        if path in self.files:
            return True
        for root in self.folders:
            if not path.startswith(root.rstrip(os.sep) + os.sep):
                continue
            *parents, name = os.path.relpath(path, root).split(os.sep)
            if passed_over_name(name, folder=folder) or any(
                passed_over_name(p, folder=True) for p in parents
            ):
                continue
            if is_within(Path(path).resolve(), self.own):
                continue
            return True
        return False


def _start_observer(paths: Sequence[Path], signal: ChangeSignal) -> Any:
    """A running watchdog observer that calls ``signal.notify``; None if watching is impossible."""
    try:
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer
    except ImportError:
        return None

    relevant = EventFilter(paths)

    class Handler(FileSystemEventHandler):  # type: ignore[misc]
        def on_any_event(self, event: Any) -> None:
            kind = getattr(event, "event_type", "")
            if kind in ("opened", "closed_no_write"):
                return  # reads (ours included) change nothing
            folder = bool(getattr(event, "is_directory", False))
            if folder and kind == "modified":
                return  # an entry in it came or went: that entry's own event says which
            changed = (event.src_path, getattr(event, "dest_path", ""))
            if any(p and relevant.matters(os.fsdecode(p), folder=folder) for p in changed):
                signal.notify()

    observer = Observer()
    handler = Handler()
    try:
        for target, recursive in relevant.targets():
            observer.schedule(handler, target, recursive=recursive)
        observer.start()
    except (OSError, RuntimeError):
        return None  # e.g. inotify watch limit reached: fall back to polling
    return observer


def watch_changes(
    paths: Sequence[Path],
    *,
    cancel: CancelToken,
    on_change: Callable[[], None],
    debounce_s: float = DEFAULT_DEBOUNCE_S,
    poll_s: float = DEFAULT_POLL_S,
    use_watchdog: bool = True,
    on_ready: Callable[[bool], None] | None = None,
) -> None:
    """Call ``on_change`` once ``paths`` changed and then stayed quiet for ``debounce_s``
    seconds, until ``cancel`` is set; blocks (run it on its own thread).

    Without watchdog, or where the platform cannot watch, it is called every ``poll_s`` seconds
    instead (an incremental run over unchanged files costs one ``stat`` each). ``on_ready(True)``
    says events are watched, ``on_ready(False)`` that the paths are polled."""
    signal = ChangeSignal()
    observer = _start_observer(paths, signal) if use_watchdog else None
    if on_ready is not None:
        on_ready(observer is not None)
    try:
        while not cancel.cancelled:
            if observer is not None:
                changed = signal.wait_quiet(debounce_s, timeout_s=0.5)
            else:
                deadline = time.monotonic() + poll_s
                while not cancel.cancelled and time.monotonic() < deadline:
                    time.sleep(min(0.2, poll_s))
                changed = not cancel.cancelled
            if changed and not cancel.cancelled:
                on_change()
    finally:
        if observer is not None:
            observer.stop()
            observer.join(timeout=5)


def watch(
    kb: KnowledgeBase,
    paths: Sequence[Path],
    collection: str,
    *,
    cancel: CancelToken,
    on_report: Callable[[IngestReport], None] | None = None,
    debounce_s: float = DEFAULT_DEBOUNCE_S,
    poll_s: float = DEFAULT_POLL_S,
    use_watchdog: bool = True,
) -> None:
    """Re-index ``paths`` into ``collection`` whenever they change, until ``cancel`` is set
    (``watched`` runs: a path that is gone keeps its documents)."""

    def reindex() -> None:
        report = kb.index(paths, collection, cancel=cancel, watched=True)
        if on_report is not None:
            on_report(report)

    watch_changes(
        paths,
        cancel=cancel,
        on_change=reindex,
        debounce_s=debounce_s,
        poll_s=poll_s,
        use_watchdog=use_watchdog,
    )
