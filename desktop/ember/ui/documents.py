"""Documents: the collections list, which ones answer in a chat, indexing with progress.

Indexing progress can arrive many times a second; the status bar shows the newest figures at
most every ``PROGRESS_MS`` so a fast stream of events never keeps the GUI thread busy. The last
run's summary stays until the person dismisses it; stopping a run that has done real work asks
first, saying what will be kept (what the status line says: :mod:`ember.ui.index_progress`).

One run at a time: a run asked for while one goes (files added, a watched folder that changed,
"Update index") waits in :class:`~ember.ui.index_queue.IndexQueue` and starts when it ends.
Each run's callbacks answer for that run only. A watch's run that found nothing new leaves the
last summary as it was; a collection being removed or renamed is not indexed meanwhile.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ember.errors import EmberError, GenerationCancelled
from ember.files import shown_path
from ember.ui import index_progress, message
from ember.ui.conversations import Conversations
from ember.ui.index_queue import IndexQueue, IndexRequest
from ember.ui.qt import (
    QFileDialog,
    QMenu,
    QObject,
    Qt,
    QTimer,
    QToolButton,
    QWidget,
    Signal,
)
from ember.ui.sidebar import Sidebar
from ember.ui.statusbar import StatusWidgets
from ember.ui.tasks import TaskHandle, TaskManager

if TYPE_CHECKING:
    from ember.core import CollectionState, Core
    from ember.knowledge.ingest import IngestReport, ProgressEvent
    from ember.knowledge.types import StaleSource

log = logging.getLogger(__name__)

PROGRESS_MS = 100


@dataclass(frozen=True, slots=True)
class _Run:
    """The run going on: its handle, what it indexes, whether a summary showed when it began."""

    handle: TaskHandle
    request: IndexRequest
    summary_shown: bool


@dataclass(frozen=True, slots=True)
class DocumentWidgets:
    """The widgets the documents controller drives (built by the window)."""

    parent: QWidget  # dialogs open over it
    sidebar: Sidebar
    button: QToolButton  # "Documents: …" in the top bar
    menu: QMenu
    status: StatusWidgets  # its indexing label, progress bar, Cancel and report buttons


class Documents(QObject):
    """Owns the collections list, the indexing run and the last run's result."""

    listed = Signal()  # the collections were listed (or could not be)
    pageRequested = Signal(str)  # show the documents page at this collection ("": the first)
    busyChanged = Signal(bool)  # an indexing run started (True) or ended (False)

    def __init__(
        self,
        core: Core,
        tasks: TaskManager,
        conversations: Conversations,
        widgets: DocumentWidgets,
        parent: QObject,
    ) -> None:
        super().__init__(parent)
        self.core = core
        self.tasks = tasks
        self.conversations = conversations
        self.w = widgets
        self.infos: list[CollectionState] = []
        self.indexing: TaskHandle | None = None
        self.indexing_collection: str | None = None
        self.last_result: IngestReport | None = None
        self.last_collection = ""  # the collection last_result is about
        self.last_again = False  # whether that run was a re-index (the documents page's)
        self._run: _Run | None = None  # the run going on (``indexing`` is its handle)
        self._retriever_warmed = False
        self._progress: ProgressEvent | None = None  # newest, not yet shown
        self.last_progress: ProgressEvent | None = None  # newest shown, of the run going on
        self._shown: list[CollectionState] = []  # the sidebar's collections while indexing
        self.queue = IndexQueue()  # runs asked for while one goes
        self._held: set[str] = set()  # collections being removed or renamed: not indexed now
        self._progress_timer = QTimer(self)
        self._progress_timer.setSingleShot(True)
        self._progress_timer.timeout.connect(self._show_progress)
        self.w.menu.aboutToShow.connect(self._fill_menu)
        self.w.status.index_cancel.clicked.connect(self.cancel_indexing)
        self.w.status.index_report.clicked.connect(self.show_report)
        self.w.status.index_open.clicked.connect(self._request_page)
        self.w.status.index_dismiss.clicked.connect(self.dismiss_summary)
        conversations.collectionsChanged.connect(self.update_button)
        self.w.sidebar.addFolderRequested.connect(self.choose_folder)
        self.w.sidebar.manageDocumentsRequested.connect(self.pageRequested.emit)

    # -- the list ------------------------------------------------------------------------------

    def refresh(self) -> None:
        self.tasks.run_on(
            self.tasks.knowledge,
            "list-collections",
            lambda _report: self.core.collections(),
            on_done=self._listed,
            on_error=self._list_failed,
        )

    def _list_failed(self, error: BaseException) -> None:
        message.info(f"Could not list documents: {error}")
        self.listed.emit()

    def _listed(self, infos: list[CollectionState]) -> None:
        self.infos = infos
        self.conversations.collections_listed(tuple(c.name for c in infos if c.info.chunks > 0))
        name, last = self.indexing_collection, self.last_progress
        if name is not None and any(c.name == name for c in infos):
            self._shown = infos  # listed while indexing: the progress updates show these
        shown = self._shown if name is not None else infos
        passages = last.chunks_done if name is not None and last is not None else None
        self.w.sidebar.set_collections(shown, name, passages)
        self.update_button()
        if infos:
            self.warm_retriever()
        self.listed.emit()

    def warm_retriever(self) -> None:
        """Load the embedder in its helper process now, not when the first question waits."""
        if self._retriever_warmed:
            return
        self._retriever_warmed = True
        self.tasks.run_background(
            "warm-retriever",
            lambda _report: self.core.warm_retriever(),
            on_error=lambda exc: log.warning("document search helper: %s", exc),
        )

    # -- which collections answer --------------------------------------------------------------

    def use(self, name: str) -> None:
        self.conversations.set_collections((name,))
        message.info(f"This chat now answers from “{name}”.")

    def update_button(self) -> None:
        chosen = self.conversations.collections
        names = [c.name for c in self.infos]
        if not chosen:
            text = "No documents"
        elif names and set(chosen) >= set(names) and len(names) > 1:
            text = "All documents"
        elif len(chosen) == 1:
            text = f"Documents: {chosen[0]}"
        else:
            text = f"Documents: {len(chosen)} collections"
        self.w.button.setText(text + "  ▾")

    def _fill_menu(self) -> None:
        menu = self.w.menu
        menu.clear()
        chosen = set(self.conversations.collections)
        choose = self.conversations.set_collections
        none = menu.addAction("No documents (plain chat)")
        none.setCheckable(True)
        none.setChecked(not chosen)
        none.triggered.connect(lambda: choose(()))
        names = [c.name for c in self.infos]
        if names:
            every = menu.addAction("All collections")
            every.setCheckable(True)
            every.setChecked(bool(chosen) and chosen >= set(names))
            every.triggered.connect(lambda: choose(tuple(names)))
            menu.addSeparator()
        for name in names:
            action = menu.addAction(name)
            action.setCheckable(True)
            action.setChecked(name in chosen)
            action.triggered.connect(lambda checked, n=name: self._toggle(n, checked))
        menu.addSeparator()
        menu.addAction("Add files…", self.choose)
        menu.addAction("Add folder…", self.choose_folder)
        first = next(iter(self.conversations.collections), "")
        menu.addAction("Manage documents…", lambda: self.pageRequested.emit(first))
        from ember.ui.dialogs import EMBEDDER_LANGUAGES

        note = menu.addAction("Search understands English best")  # where collections are picked
        note.setToolTip(EMBEDDER_LANGUAGES)
        note.setStatusTip(EMBEDDER_LANGUAGES)
        note.setEnabled(False)
        menu.setToolTipsVisible(True)

    def _toggle(self, name: str, checked: bool) -> None:
        chosen = list(self.conversations.collections)
        if checked and name not in chosen:
            chosen.append(name)
        elif not checked and name in chosen:
            chosen.remove(name)
        self.conversations.set_collections(tuple(chosen))

    # -- adding and indexing -------------------------------------------------------------------

    def choose(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self.w.parent, "Add files", str(Path.home()))
        if files:
            self.add([Path(p) for p in files])

    def choose_folder(self) -> None:
        """Pick a folder (the system's dialog), then index it: every document under it."""
        folder = QFileDialog.getExistingDirectory(self.w.parent, "Add folder", str(Path.home()))
        if folder:
            self.add([Path(folder)])

    def index_when_free(self, paths: list[Path], collection: str) -> None:
        """A watched folder changed: a watch's run (which keeps the documents of a root that is
        gone, an unplugged drive), now or once the run going on ends."""
        self.index(paths, collection, watched=True)

    def add(self, paths: list[Path], collection: str | None = None) -> None:
        """Ask which collection (unless given), then index in the background (once the run
        going on ends, if one does: the person is told it waits)."""
        if collection is not None:
            self.index(paths, collection)
            return
        from ember.ui.dialogs import CollectionDialog

        suggestion = paths[0].name if len(paths) == 1 and paths[0].is_dir() else "My documents"
        names = [c.name for c in self.infos]
        dialog = CollectionDialog(names, suggestion, len(paths), self.w.parent)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.index(paths, dialog.collection()))
        dialog.open()

    def update_index(self, stale: tuple[StaleSource, ...]) -> None:
        """Index again the files an answer left out: a deleted one is forgotten, a changed one
        read again (the first collection's now, the rest when asked again)."""
        if not stale:
            return
        collection = stale[0].collection
        self.index([Path(s.path) for s in stale if s.collection == collection], collection)

    def index(
        self, paths: list[Path], collection: str, *, again: bool = False, watched: bool = False
    ) -> TaskHandle | None:
        """Index ``paths`` into ``collection`` in the background; ``again``: index them anew
        (no paths: the whole collection), as the documents page's Re-index does; ``watched``:
        a watch's run (see :meth:`KnowledgeBase.index`). Returns the run's handle, or None
        when it waits for the run going on (or for ``collection``'s removal or rename; a
        watch's run for such a collection is dropped: its watch was stopped)."""
        request = IndexRequest(list(paths), collection, again, watched)
        if watched and collection in self._held:
            log.info("not indexing %s: it is being removed or renamed", collection)
            return None
        if self.indexing is not None or collection in self._held:
            self.queue.put(request)
            if not watched:
                current = self.indexing_collection
                after = f"“{current}” is indexed" if current else "its rename or removal ends"
                message.info(f"Indexing “{collection}” waits until {after}.")
            return None
        return self._start(request)

    def _start(self, request: IndexRequest) -> TaskHandle:
        core = self.core
        paths, collection, again, watched = (
            request.paths,
            request.collection,
            request.again,
            request.watched,
        )
        handle = TaskHandle(f"index {collection}")  # before submitting: the job reads it

        def job(report: Callable[[object], None]) -> IngestReport:
            if again:
                return core.reindex(paths, collection, report, handle.cancel_token)
            return core.index(paths, collection, report, handle.cancel_token, watched=watched)

        run = _Run(handle, request, not self.w.status.index_dismiss.isHidden())
        self._run = run
        self.indexing_collection = collection
        self.last_progress = None
        self.w.status.index_label.setText(f"Indexing “{collection}”…")
        self.w.status.index_bar.setRange(0, 0)
        for widget in (
            self.w.status.index_label,
            self.w.status.index_bar,
            self.w.status.index_cancel,
        ):
            widget.show()
        for widget in (
            self.w.status.index_report,
            self.w.status.index_open,
            self.w.status.index_dismiss,
        ):
            widget.hide()
        self.indexing = handle  # before submitting: its callbacks check it
        self.tasks.run_on(
            self.tasks.knowledge,
            "index",
            job,
            on_event=lambda event: self._on_progress(handle, event),
            on_done=lambda result: self._done(run, result),
            on_error=lambda error: self._failed(run, error),
            handle=handle,
        )
        self.busyChanged.emit(True)
        self.warm_retriever()  # the first question after indexing then answers at once
        known = any(c.name == collection for c in self.infos)
        if known:
            shown = self.infos
        else:
            from ember.core import CollectionState
            from ember.knowledge.store import CollectionInfo

            shown = [*self.infos, CollectionState(CollectionInfo(collection, 0, 0))]
        self._shown = shown
        self.w.sidebar.set_collections(shown, collection, 0)
        return handle

    def _on_progress(self, handle: TaskHandle, event: ProgressEvent) -> None:
        if self.indexing is not handle:
            return  # a run that is not the one going on (never expected)
        self._progress = event  # the index job reports nothing else
        if not self._progress_timer.isActive():
            self._progress_timer.start(PROGRESS_MS)

    def _show_progress(self) -> None:
        event, self._progress = self._progress, None
        if event is None or self.indexing is None or self.indexing.cancel_token.cancelled:
            return
        self.last_progress = event
        bar = self.w.status.index_bar
        value = index_progress.bar_value(event)
        if value is None:
            bar.setRange(0, 0)  # busy: nothing to measure yet
        else:
            bar.setRange(0, index_progress.BAR_STEPS)
            bar.setValue(value)
        name = self.indexing_collection or ""
        text = index_progress.progress_text(name, event)
        self.w.status.index_label.setText(text)
        current = f"\n{shown_path(event.current)}" if event.current else ""
        self.w.status.index_label.setToolTip(text + current)
        self.w.sidebar.set_collections(self._shown, name, event.chunks_done)

    def _ended(self, run: _Run) -> bool:
        """The run is over; False (and nothing done) when it is not the one going on."""
        if self._run is not run:
            log.warning("ignoring the end of a run that is not current: %s", run.request)
            return False
        self._run = None
        self.indexing = None
        self._shown = []
        self.indexing_collection = None
        self._progress = None
        self._progress_timer.stop()
        self.busyChanged.emit(False)
        return True

    def _start_next(self) -> None:
        """Start the first run that waits (if none goes and one may start)."""
        if self.indexing is None:
            request = self.queue.take(self._held)
            if request is not None:
                self._start(request)

    def _done(self, run: _Run, result: IngestReport) -> None:
        if not self._ended(run):
            return
        request = run.request
        collection = request.collection
        quiet = (
            request.watched
            and not result.cancelled
            and not (result.indexed or result.removed or result.failed)
        )
        self.w.status.index_bar.hide()
        self.w.status.index_cancel.hide()
        if quiet:  # a watch found nothing new: the person's summary stays as it was
            self._show_result(shown=run.summary_shown)
        else:
            self.last_result, self.last_collection = result, collection
            self.last_again = request.again
            # It stays until dismissed: a person back from a coffee still learns how it went.
            self._show_result(shown=True)
            if not result.cancelled and (result.indexed or result.skipped):
                self.conversations.indexed_into(collection)
        self.refresh()
        self._start_next()

    def _show_result(self, *, shown: bool) -> None:
        """Show the last run's summary with its buttons (``shown``), or hide them."""
        result = self.last_result
        report = index_progress.report_button_text(result) if result is not None else ""
        visible = shown and result is not None
        if visible:
            self._show_summary()
            self.w.status.index_report.setText(report)
        self.w.status.index_label.setVisible(visible)
        self.w.status.index_open.setVisible(visible)
        self.w.status.index_dismiss.setVisible(visible)
        self.w.status.index_report.setVisible(visible and bool(report))

    def _show_summary(self) -> None:
        if self.last_result is None:
            return
        summary = index_progress.summary_text(
            self.last_collection, self.last_result, self.last_again
        )
        self.w.status.index_label.setText(summary)
        self.w.status.index_label.setToolTip(summary)

    def collection_changing(self, name: str) -> None:
        """``name`` is about to be removed or renamed: no run for it starts until it is (a
        watch's request for it is dropped; the rest wait, see :meth:`collection_renamed`)."""
        self._held.add(name)

    def collection_unchanged(self, name: str) -> None:
        """Removing or renaming ``name`` failed: what waits for it may run."""
        self._held.discard(name)
        self._start_next()

    def collection_renamed(self, old: str, new: str) -> None:
        """The last run's summary names the collection by its new name; runs waiting for it
        index into the new one."""
        self._held.discard(old)
        self.queue.rename(old, new)
        if self.last_collection == old:
            self.last_collection = new
            if self.indexing is None:
                self._show_summary()
        self._start_next()

    def collection_removed(self, name: str) -> None:
        """The last run's summary is about a collection that went: it goes too, with the runs
        waiting for it."""
        self._held.discard(name)
        self.queue.drop(name)
        if self.last_collection == name:
            self.dismiss_summary()
            self.last_result, self.last_collection = None, ""
        self._start_next()

    def dismiss_summary(self) -> None:
        """Hide the last run's summary (the × next to it)."""
        if self.indexing is not None:
            return
        for widget in (
            self.w.status.index_label,
            self.w.status.index_report,
            self.w.status.index_open,
            self.w.status.index_dismiss,
        ):
            widget.hide()

    def _request_page(self) -> None:
        self.pageRequested.emit(self.last_collection)

    def _failed(self, run: _Run, error: BaseException) -> None:
        if not self._ended(run):
            return
        collection = run.request.collection
        for widget in (
            self.w.status.index_bar,
            self.w.status.index_cancel,
            self.w.status.index_label,
            self.w.status.index_open,
            self.w.status.index_dismiss,
        ):
            widget.hide()
        if not isinstance(error, GenerationCancelled):
            text = str(error) if isinstance(error, EmberError) else repr(error)
            message.error("Indexing failed", f"“{collection}”: {text}")
        self.refresh()
        self._start_next()

    def cancel_indexing(self) -> None:
        """Stop the run (the Cancel button): at once when little is done, else after asking,
        so that a stray Tab, Tab, Space does not throw away minutes of work."""
        run, last = self._run, self.last_progress
        if run is None or run.handle.cancel_token.cancelled:
            return
        handle, name = run.handle, run.request.collection
        if not index_progress.should_ask_before_stopping(last):
            self._stop(handle)
            return
        assert last is not None
        message.ask(
            message.Question(
                name="ConfirmStopIndexing",
                title="Stop indexing?",
                text=index_progress.stop_question_text(name, last, run.request.again),
                on_yes=lambda: self._stop(handle),
            )
        )

    def _stop(self, handle: TaskHandle) -> None:
        if self.indexing is handle:  # not a run that ended while the question was open
            handle.cancel()
            self.w.status.index_label.setText("Stopping…")

    def show_report(self) -> None:
        result = self.last_result
        if result is None or not index_progress.report_button_text(result):
            return
        from ember.ui.dialogs import IndexReportDialog

        failed, skipped = index_progress.not_indexed(result)
        dialog = IndexReportDialog(
            self.last_collection,
            [(shown_path(path), reason) for path, reason in failed],
            self.w.parent,
            warnings=[(shown_path(w.path), w.message) for w in result.warnings],
            skipped=[(shown_path(path), reason) for path, reason in skipped],
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
