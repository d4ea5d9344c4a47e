"""Background work for the UI: workers run the core, signals bring results to the GUI thread.

Modelled on Anki's ``TaskManager``: a job is a plain function ``fn(report) -> result`` that runs off
the GUI thread. ``report(event)`` hands progress to the GUI thread (tokens, indexing counts); the
result or the exception arrives there too, through queued signals. Jobs never touch widgets.

Three serial workers own state that must not be shared between threads at once: ``engine`` (the
loaded model: loading, generating, unloading), ``knowledge`` (index writes) and ``chats`` (the
chat history: another Ember process may hold its write lock for seconds, so the GUI thread never
touches it; chat exports run there too). ``downloads`` runs model downloads, one at a time.
Everything else (listing an Ollama server, pulling a model) goes to a small thread pool.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ember.ui.qt import QObject, Qt, QThread, Signal, Slot

if TYPE_CHECKING:
    from ember.cancel import CancelToken

log = logging.getLogger(__name__)

Report = Callable[[object], None]
Job = Callable[[Report], Any]


def _new_token() -> CancelToken:
    # Imported on first use: nothing of the core is needed before the window paints.
    from ember.cancel import CancelToken

    return CancelToken()


@dataclass(eq=False)
class TaskHandle:
    """What the GUI keeps of a submitted job: its name, its cancel flag, whether it ended."""

    name: str
    cancel_token: CancelToken = field(default_factory=lambda: _new_token())
    done: bool = False

    def cancel(self) -> None:
        self.cancel_token.cancel()

    @property
    def cancelled(self) -> bool:
        return self.cancel_token.cancelled


class _Bridge(QObject):
    """Lives in the GUI thread; the worker emits, Qt queues, the slots run here."""

    event = Signal(object)
    done = Signal(object)
    failed = Signal(object)

    def __init__(
        self,
        handle: TaskHandle,
        on_event: Callable[[object], None] | None,
        on_done: Callable[[Any], None] | None,
        on_error: Callable[[BaseException], None] | None,
        release: Callable[[_Bridge], None],
    ) -> None:
        super().__init__()
        self.handle = handle
        self._on_event = on_event
        self._on_done = on_done
        self._on_error = on_error
        self._release = release
        self.silenced = False  # set at shutdown: the widgets the callbacks use may be gone
        self.keep_at_shutdown = False  # run it even when the app is closing (chat writes)
        queued = Qt.ConnectionType.QueuedConnection
        self.event.connect(self._deliver_event, queued)
        self.done.connect(self._deliver_done, queued)
        self.failed.connect(self._deliver_error, queued)

    @Slot(object)
    def _deliver_event(self, event: object) -> None:
        if self._on_event is not None and not self.handle.done and not self.silenced:
            self._on_event(event)

    @Slot(object)
    def _deliver_done(self, result: object) -> None:
        self.handle.done = True
        try:
            if self._on_done is not None and not self.silenced:
                self._on_done(result)
        finally:
            self._release(self)

    @Slot(object)
    def _deliver_error(self, error: object) -> None:
        self.handle.done = True
        try:
            if self.silenced:
                pass
            elif self._on_error is not None:
                assert isinstance(error, BaseException)
                self._on_error(error)
            else:
                log.error("background task %s failed: %s", self.handle.name, error)
        finally:
            self._release(self)


def _execute(job: Job, bridge: _Bridge) -> None:
    """Run one job in the current (worker) thread; only signals leave it."""
    try:
        result = job(bridge.event.emit)
    except BaseException as exc:
        bridge.failed.emit(exc)
    else:
        bridge.done.emit(result)


class SerialWorker(QThread):
    """One thread running its jobs strictly one after another, in submission order."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.setObjectName(f"ember-{name}")
        self._queue: queue.Queue[tuple[Job, _Bridge] | None] = queue.Queue()
        self.busy = False

    def submit(self, job: Job, bridge: _Bridge) -> None:
        self._queue.put((job, bridge))
        if not self.isRunning():
            self.start()

    def pending(self) -> int:
        return self._queue.qsize()

    def run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            job, bridge = item
            if bridge.handle.cancelled:
                # Cancelled before it started: report it as cancelled without running it.
                from ember.errors import GenerationCancelled

                bridge.failed.emit(GenerationCancelled("Cancelled before it started."))
                continue
            self.busy = True
            try:
                _execute(job, bridge)
            finally:
                self.busy = False

    def stop(self, timeout_ms: int) -> bool:
        self._queue.put(None)
        if not self.isRunning():
            return True
        return self.wait(timeout_ms)


class TaskManager(QObject):
    """Submit background work; callbacks run on the GUI thread."""

    def __init__(self, parent: QObject | None = None, pool_size: int = 2) -> None:
        super().__init__(parent)
        self.engine = SerialWorker("engine")
        self.knowledge = SerialWorker("knowledge")
        self.chats = SerialWorker("chats")
        self.downloads = SerialWorker("downloads")  # model downloads, one at a time
        self._pool_size = pool_size
        self._pool_slots = threading.BoundedSemaphore(pool_size)
        self._bridges: set[_Bridge] = set()
        self._threads: set[threading.Thread] = set()
        self._ids = itertools.count(1)
        self._closing = False

    # -- submission ---------------------------------------------------------------------------

    def _bridge(
        self,
        name: str,
        on_event: Callable[[object], None] | None,
        on_done: Callable[[Any], None] | None,
        on_error: Callable[[BaseException], None] | None,
        handle: TaskHandle | None = None,
    ) -> _Bridge:
        if handle is None:
            handle = TaskHandle(f"{name}#{next(self._ids)}")
        bridge = _Bridge(handle, on_event, on_done, on_error, self._bridges.discard)
        self._bridges.add(bridge)
        return bridge

    def run_on(
        self,
        worker: SerialWorker,
        name: str,
        job: Job,
        *,
        on_event: Callable[[object], None] | None = None,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        handle: TaskHandle | None = None,
        keep_at_shutdown: bool = False,
    ) -> TaskHandle:
        """Queue ``job`` on a serial worker (``self.engine``, ``self.knowledge``, ``self.chats``).

        ``keep_at_shutdown``: run it even if the app starts closing before it does (a write the
        person already made); everything else is cancelled at shutdown.

        A job that checks its own cancel token makes its ``handle`` first and passes it here:
        the job may start before this call returns."""
        if self._closing:  # the window is going away: nothing new starts
            if handle is not None:
                handle.done = True
                handle.cancel()
            return handle or TaskHandle(name, done=True)
        bridge = self._bridge(name, on_event, on_done, on_error, handle)
        bridge.keep_at_shutdown = keep_at_shutdown
        worker.submit(job, bridge)
        return bridge.handle

    def run_background(
        self,
        name: str,
        job: Job,
        *,
        on_event: Callable[[object], None] | None = None,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        handle: TaskHandle | None = None,
    ) -> TaskHandle:
        """Run ``job`` in the pool (independent work: server queries, pulls, exports).

        As with :meth:`run_on`, pass ``handle`` when the job reads its cancel token."""
        if self._closing:
            if handle is not None:
                handle.done = True
                handle.cancel()
            return handle or TaskHandle(name, done=True)
        bridge = self._bridge(name, on_event, on_done, on_error, handle)

        def body() -> None:
            with self._pool_slots:
                if bridge.handle.cancelled:
                    from ember.errors import GenerationCancelled

                    bridge.failed.emit(GenerationCancelled("Cancelled before it started."))
                    return
                _execute(job, bridge)
            self._threads.discard(thread)

        # Plain daemon threads, bounded by a semaphore: a stuck network call can never keep
        # the process alive at exit (QThreadPool would wait for it).
        thread = threading.Thread(target=body, name=f"ember-{bridge.handle.name}", daemon=True)
        self._threads.add(thread)
        thread.start()
        return bridge.handle

    # -- state and shutdown -------------------------------------------------------------------

    def active(self) -> list[TaskHandle]:
        return [b.handle for b in self._bridges if not b.handle.done]

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancel everything but queued chat-history writes and wait (bounded) for the serial
        workers to finish."""
        self._closing = True
        for bridge in list(self._bridges):
            if not bridge.keep_at_shutdown:
                bridge.handle.cancel()
            bridge.silenced = True
        ok = self.engine.stop(timeout_ms)
        ok = self.knowledge.stop(timeout_ms) and ok
        ok = self.chats.stop(timeout_ms) and ok
        ok = self.downloads.stop(timeout_ms) and ok
        return ok
