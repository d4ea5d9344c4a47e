"""Ember's main window: sidebar, chat, composer, status bar; all work goes through TaskManager."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ember.errors import EmberError, GenerationCancelled, StorageError
from ember.files import write_atomically
from ember.ui.chatview import BubbleData, ChatView, MessageBubble
from ember.ui.composer import Composer
from ember.ui.qt import (
    QAction,
    QCloseEvent,
    QComboBox,
    QDesktopServices,
    QDragEnterEvent,
    QDropEvent,
    QEvent,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QKeySequence,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QObject,
    QProgressBar,
    QShortcut,
    QSplitter,
    Qt,
    QTimer,
    QToolButton,
    QUrl,
    QVBoxLayout,
    QWidget,
)
from ember.ui.services import (
    CollectionInfo,
    IndexProgress,
    IndexResult,
    LoadedModel,
    ModelChoice,
    PullProgress,
    Services,
)
from ember.ui.sidebar import Sidebar
from ember.ui.state import UiState
from ember.ui.tasks import TaskHandle, TaskManager
from ember.ui.theme import Theme, app_icon

if TYPE_CHECKING:
    from ember.knowledge.types import Citation
    from ember.ui.dialogs import SettingsDialog, SourceDialog

log = logging.getLogger(__name__)

UNDO_SECONDS = 10
_ADD_GGUF = "__add_gguf__"
_PULL_OLLAMA = "__pull_ollama__"


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"~{max(1, round(seconds))} s left"
    return f"~{round(seconds / 60)} min left"


def _is_loopback(url: str) -> bool:
    host = QUrl(url).host()
    return host in ("127.0.0.1", "localhost", "::1") or host.startswith("127.")


class _FirstPaint(QObject):
    """Calls ``then`` once, right after the window's first paint (or after a short while when
    the window stays hidden, e.g. started minimised), then removes itself."""

    FALLBACK_MS = 1000

    def __init__(self, window: QWidget, then: Callable[[], None]) -> None:
        super().__init__(window)
        self._window = window
        self._then = then
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


class MainWindow(QMainWindow):
    def __init__(self, services: Services, tasks: TaskManager, theme: Theme) -> None:
        super().__init__()
        self.services = services
        self.tasks = tasks
        self.theme = theme
        self.ui_state = UiState(services.paths)
        self.setObjectName("MainWindow")
        self.setWindowTitle("Ember")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.resize(1180, 780)

        self.conversation_id: int | None = None
        self.generation: TaskHandle | None = None
        self.indexing: TaskHandle | None = None
        self.indexing_collection: str | None = None
        self.pulling: TaskHandle | None = None
        # Set when the chat history cannot be opened (damaged, from a newer Ember): the window
        # says so and sends nothing, rather than start a new history over the old one.
        self.history_error: str | None = None
        # Files and folders from ``ember PATH...``: offered for indexing once the window is up.
        self.paths_at_start: list[Path] = []
        self.model_loading = False
        self.collection_infos: list[CollectionInfo] = []
        self.ollama_choices: list[ModelChoice] = []
        self.last_index_result: IndexResult | None = None
        self._pending_collections: tuple[str, ...] = ()
        self._deleted = None
        self._stream_bubble: MessageBubble | None = None
        self._user_bubble: MessageBubble | None = None
        self._closing = False
        self._retriever_warmed = False
        self.start_background_when_shown = True  # create_window(start_background=False) clears it
        self._started = False
        self._history_opening = False
        self._model_block: str | None = None  # why the model keeps the composer blocked, if it does

        self._build()
        self._shortcuts()
        self._restore_state()
        # Conversations, the last chat and the model start after the first paint: the person
        # sees the window at once, and its contents fill in a moment later.
        self._first_paint = _FirstPaint(self, self._after_first_paint)

    # ------------------------------------------------------------------------------------------
    # layout

    def _build(self) -> None:
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setChildrenCollapsible(False)
        self.sidebar = Sidebar(self.splitter)
        self.sidebar.newChatRequested.connect(self.new_chat)
        self.sidebar.conversationSelected.connect(self.open_conversation)
        self.sidebar.renameRequested.connect(self.rename_conversation)
        self.sidebar.deleteRequested.connect(self.delete_conversation)
        self.sidebar.exportRequested.connect(self.export_conversation)
        self.sidebar.searchChanged.connect(lambda _q: self.refresh_conversations())
        self.sidebar.addDocumentsRequested.connect(self.choose_documents)
        self.sidebar.collectionActivated.connect(self._use_collection)
        self.sidebar.settingsRequested.connect(self.open_settings)

        right = QWidget(self.splitter)
        column = QVBoxLayout(right)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)

        top = QFrame(right)
        top.setObjectName("TopBar")
        bar = QHBoxLayout(top)
        bar.setContentsMargins(20, 10, 16, 10)
        self.title_label = QLabel("New chat", top)
        self.title_label.setObjectName("ChatTitle")
        bar.addWidget(self.title_label, 1)
        self.collections_button = QToolButton(top)
        self.collections_button.setObjectName("HeaderButton")
        self.collections_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.collections_button.setToolTip("Which documents answer in this chat")
        self.collections_menu = QMenu(self.collections_button)
        self.collections_menu.aboutToShow.connect(self._fill_collections_menu)
        self.collections_button.setMenu(self.collections_menu)
        bar.addWidget(self.collections_button)
        self.model_picker = QComboBox(top)
        self.model_picker.setToolTip("The model that answers")
        self.model_picker.activated.connect(self._model_picked)
        bar.addWidget(self.model_picker)
        self.more_button = QToolButton(top)
        self.more_button.setObjectName("HeaderButton")
        self.more_button.setText("⋯")
        self.more_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        more = QMenu(self.more_button)
        more.addAction("Rename chat…", lambda: self.rename_conversation(self.conversation_id))
        more.addAction(
            "Export as Markdown…",
            lambda: self.export_conversation(self.conversation_id, "markdown"),
        )
        more.addAction(
            "Export as JSON…", lambda: self.export_conversation(self.conversation_id, "json")
        )
        more.addSeparator()
        more.addAction("Delete chat", lambda: self.delete_conversation(self.conversation_id))
        self.more_button.setMenu(more)
        bar.addWidget(self.more_button)
        column.addWidget(top)

        self.chat = ChatView(self.theme.color("code"), right)
        self.chat.linkRequested.connect(self.request_open_link)
        self.chat.citationRequested.connect(self.show_citation)
        self.chat.regenerateRequested.connect(self.regenerate)
        self.chat.editRequested.connect(self._start_edit)
        self.chat.suggestionPicked.connect(self._suggestion)
        column.addWidget(self.chat, 1)

        self.undo_bar = QFrame(right)
        self.undo_bar.setObjectName("UndoBar")
        undo_row = QHBoxLayout(self.undo_bar)
        undo_row.setContentsMargins(12, 4, 6, 4)
        self.undo_label = QLabel("", self.undo_bar)
        undo_row.addWidget(self.undo_label, 1)
        self.undo_button = QToolButton(self.undo_bar)
        self.undo_button.setText("Undo")
        self.undo_button.clicked.connect(self.undo_delete)
        undo_row.addWidget(self.undo_button)
        self.undo_bar.hide()
        self._undo_timer = QTimer(self)
        self._undo_timer.setSingleShot(True)
        self._undo_timer.timeout.connect(self._undo_expired)
        undo_holder = QHBoxLayout()
        undo_holder.setContentsMargins(24, 0, 24, 0)
        undo_holder.addWidget(self.undo_bar)
        column.addLayout(undo_holder)

        self.composer = Composer(right)
        self.composer.sendRequested.connect(self.send)
        self.composer.stopRequested.connect(self.stop)
        column.addWidget(self.composer)

        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([270, 910])
        self.setCentralWidget(self.splitter)

        status = self.statusBar()
        self.model_label = QLabel("No model loaded", self)
        status.addWidget(self.model_label)
        self.offline_pill = QLabel("OFFLINE", self)
        self.offline_pill.setObjectName("Pill")
        self.offline_pill.setToolTip("Everything runs on this computer; nothing is sent anywhere.")
        status.addWidget(self.offline_pill)
        self.index_label = QLabel("", self)
        self.index_bar = QProgressBar(self)
        self.index_bar.setFixedWidth(180)
        self.index_bar.setTextVisible(False)
        self.index_cancel = QToolButton(self)
        self.index_cancel.setText("Cancel")
        self.index_cancel.clicked.connect(self.cancel_indexing)
        self.index_report = QToolButton(self)
        self.index_report.clicked.connect(self.show_index_report)
        self.pull_label = QLabel("", self)
        self.pull_bar = QProgressBar(self)
        self.pull_bar.setFixedWidth(140)
        self.pull_bar.setTextVisible(False)
        self.pull_cancel = QToolButton(self)
        self.pull_cancel.setText("Cancel")
        self.pull_cancel.setToolTip("Stop downloading this model")
        self.pull_cancel.clicked.connect(self.cancel_pull)
        for widget in (
            self.pull_label,
            self.pull_bar,
            self.pull_cancel,
            self.index_label,
            self.index_bar,
            self.index_cancel,
            self.index_report,
        ):
            status.addPermanentWidget(widget)
            widget.hide()
        self._update_collections_button()
        # Filled right after the first paint (reading the catalog is not needed to show the window).
        self.model_picker.addItem(self.services.settings.model or "Embedded model")

    def _shortcuts(self) -> None:
        QShortcut(QKeySequence("Ctrl+N"), self, self.new_chat)
        QShortcut(QKeySequence("Ctrl+,"), self, self.open_settings)
        QShortcut(QKeySequence("Ctrl+Z"), self, self.undo_delete)
        stop = QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.stop)
        stop.setContext(Qt.ShortcutContext.WindowShortcut)
        add = QAction("Add documents…", self)
        add.setShortcut(QKeySequence("Ctrl+O"))
        add.triggered.connect(self.choose_documents)
        self.addAction(add)

    # ------------------------------------------------------------------------------------------
    # start and stop

    def _restore_state(self) -> None:
        geometry = self.ui_state.geometry
        if geometry is not None:
            self.restoreGeometry(geometry)
        splitter = self.ui_state.splitter
        if splitter is not None:
            self.splitter.restoreState(splitter)

    @property
    def started(self) -> bool:
        """True once the window has filled in after its first paint (chats, last chat, model)."""
        return self._started

    def _after_first_paint(self) -> None:
        """Fill in what the first paint did not need: chats, the last one open, the model."""
        if self._started or self._history_opening or self._closing:
            return
        # Opening the history checks every page of it (quick_check) and migrates it: a second
        # or more for a large history on a cold disk, so it opens off the GUI thread.
        self._history_opening = True
        self._apply_composer_block()
        self.tasks.run_background(
            "open-history",
            lambda report: self.services.store,
            on_done=lambda _store: self._history_opened(None),
            on_error=self._history_opened,
        )
        if self.start_background_when_shown:
            self.start_background()

    def _history_opened(self, error: BaseException | None) -> None:
        """The history is open (``error`` is None) or cannot be: show the chats, or say why."""
        self._history_opening = False
        if self._closing:
            return
        if error is None:
            try:
                self.refresh_conversations()
                last = self.ui_state.last_conversation
                if last is not None:
                    conversation = self.services.store.get(last)
                    if conversation is not None and not conversation.deleted:
                        self.open_conversation(last)
            except StorageError as exc:
                self._history_unavailable(exc)
        elif isinstance(error, StorageError):
            self._history_unavailable(error)
        else:
            self._history_unavailable(
                StorageError(f"The chat history could not be opened: {error}")
            )
        self._started = True
        self._apply_composer_block()
        if self.paths_at_start and (
            not self.start_background_when_shown or not self.services.knowledge_available()
        ):
            QTimer.singleShot(0, self._open_paths_at_start)
        # Otherwise they open once the collections are listed, so the dialog can offer them.

    def _open_paths_at_start(self) -> None:
        paths, self.paths_at_start = self.paths_at_start, []
        if paths and not self._closing:
            self.open_paths(paths)

    def _history_unavailable(self, error: StorageError) -> None:
        """The chat history cannot be opened: say why, keep it untouched, send nothing."""
        self.history_error = str(error)
        log.error("chat history unavailable: %s", self.history_error)
        self.sidebar.show_history_problem(
            "Chat history unavailable.\nIt was left untouched; see the message."
        )
        self._apply_composer_block()
        self.show_error("Your chat history cannot be opened", str(error))

    def _set_composer_blocked(self, reason: str | None) -> None:
        """Block the composer for ``reason`` (a model loading), or unblock it (None)."""
        self._model_block = reason
        self._apply_composer_block()

    def _apply_composer_block(self) -> None:
        """A damaged history blocks sending for good; else the model's reason, or the history
        still opening."""
        if self.history_error is not None:
            reason: str | None = (
                "Chats cannot be saved: the chat history could not be opened. Restore it or move "
                "it aside, then restart Ember."
            )
        elif self._model_block is not None:
            reason = self._model_block
        elif self._history_opening:
            reason = "Opening your chat history…"
        else:
            reason = None
        self.composer.set_blocked(reason)

    def start_background(self) -> None:
        """After the window is on screen: load the model, list documents and servers."""
        if self._closing:
            return
        self._fill_model_picker()
        self.load_model()
        self.refresh_collections()
        self.refresh_ollama()

    def closeEvent(self, event: QCloseEvent) -> None:
        self._closing = True
        self.ui_state.save(self.saveGeometry(), self.splitter.saveState(), self.conversation_id)
        if self.generation is not None:
            self.generation.cancel()
        if self.indexing is not None:
            self.indexing.cancel()
        if self.pulling is not None:
            self.pulling.cancel()
        self._deleted = None
        self._purge_trash()  # the undo offer ends with the window
        super().closeEvent(event)

    # ------------------------------------------------------------------------------------------
    # messages to the person

    def show_error(self, title: str, text: str) -> QMessageBox:
        """A window-modal error that does not block the event loop."""
        box = QMessageBox(
            QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self
        )
        box.setObjectName("ErrorDialog")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        return box

    def notify(self, text: str, ms: int = 5000) -> None:
        self.statusBar().showMessage(text, ms)

    # ------------------------------------------------------------------------------------------
    # conversations

    def refresh_conversations(self) -> None:
        if self.history_error is not None or self._history_opening:
            return  # (once it opens, the list fills in)
        query = self.sidebar.search.text().strip() or None
        conversations = self.services.store.conversations(query)
        self.sidebar.set_conversations(conversations, self.conversation_id)

    def new_chat(self) -> None:
        if self.generation is not None:
            self.stop()
        self.conversation_id = None
        self._pending_collections = ()
        self.composer.cancel_edit()
        self.chat.clear()
        self.title_label.setText("New chat")
        self.sidebar.select(None)
        self._update_collections_button()
        self.composer.input.setFocus()

    def open_conversation(self, conversation_id: int) -> None:
        if conversation_id == self.conversation_id and self.chat.bubbles:
            return
        if self.generation is not None:
            self.stop()
        conversation = self.services.store.get(conversation_id)
        if conversation is None or conversation.deleted:
            self.refresh_conversations()
            return
        self.conversation_id = conversation_id
        self.composer.cancel_edit()
        self.title_label.setText(conversation.title)
        self.chat.show_messages(self.services.store.messages(conversation_id))
        self.sidebar.select(conversation_id)
        self._update_collections_button()

    def _reload_current(self) -> None:
        if self.conversation_id is not None:
            conversation = self.services.store.get(self.conversation_id)
            if conversation is not None:
                self.title_label.setText(conversation.title)
            self.chat.show_messages(self.services.store.messages(self.conversation_id))

    def rename_conversation(self, conversation_id: int | None) -> None:
        if conversation_id is None:
            return
        conversation = self.services.store.get(conversation_id)
        if conversation is None:
            return
        title, ok = QInputDialog.getText(self, "Rename chat", "Title:", text=conversation.title)
        if ok:
            self.rename_to(conversation_id, title)

    def rename_to(self, conversation_id: int, title: str) -> None:
        try:
            renamed = self.services.store.rename(conversation_id, title)
        except EmberError as exc:
            self.show_error("Cannot rename", str(exc))
            return
        if conversation_id == self.conversation_id:
            self.title_label.setText(renamed.title)
        self.refresh_conversations()

    def delete_conversation(self, conversation_id: int | None) -> None:
        if conversation_id is None:
            return
        if conversation_id == self.conversation_id and self.generation is not None:
            self.stop()
        self._deleted = None
        self._purge_trash()  # only the newest deletion can be undone
        self._deleted = self.services.store.delete(conversation_id)
        if conversation_id == self.conversation_id:
            self.new_chat()
        self.refresh_conversations()
        self.undo_label.setText(f"Deleted “{self._deleted.title}”.")
        self.undo_bar.show()
        self._undo_timer.start(UNDO_SECONDS * 1000)

    def _undo_expired(self) -> None:
        self.undo_bar.hide()
        self._deleted = None
        self._purge_trash()

    def _purge_trash(self) -> None:
        """Erase deleted chats for good, except the one still offered for undo."""
        if not self._started or self.history_error is not None or self._deleted is not None:
            return
        try:
            self.services.store.purge_deleted()
        except StorageError as exc:
            log.warning("could not empty the chat trash: %s", exc)

    def undo_delete(self) -> None:
        if self._deleted is None:
            return
        restored = self.services.store.restore(self._deleted)
        self._deleted = None
        self.undo_bar.hide()
        self.refresh_conversations()
        self.open_conversation(restored.id)

    def export_conversation(self, conversation_id: int | None, kind: str) -> None:
        if conversation_id is None:
            self.notify("Nothing to export yet: this chat is empty.")
            return
        conversation = self.services.store.get(conversation_id)
        if conversation is None:
            return
        suffix, pattern = (
            (".md", "Markdown (*.md)") if kind == "markdown" else (".json", "JSON (*.json)")
        )
        safe = "".join(c if c.isalnum() or c in " -_" else "_" for c in conversation.title).strip()
        default = str(Path.home() / f"{safe or 'chat'}{suffix}")
        path, _ = QFileDialog.getSaveFileName(self, "Export chat", default, pattern)
        if path:
            self.export_to(conversation_id, kind, Path(path))

    def export_to(self, conversation_id: int, kind: str, path: Path) -> None:
        store = self.services.store
        text = (
            store.export_markdown(conversation_id)
            if kind == "markdown"
            else store.export_json(conversation_id)
        )
        try:
            write_atomically(path, text)  # a crash never leaves half an export
        except OSError as exc:
            self.show_error("Export failed", f"Could not write {path}: {exc.strerror}.")
            return
        self.notify(f"Exported to {path}")

    # ------------------------------------------------------------------------------------------
    # sending, streaming, stopping

    def _suggestion(self, text: str) -> None:
        self.composer.input.setPlainText(text)
        self.composer.input.setFocus()

    def send(self, text: str) -> None:
        """Send what the composer holds (or, while editing, replace that message and resend)."""
        if self.generation is not None or self.composer.blocked_reason is not None:
            return
        if not text.strip():
            return
        editing = self.composer.editing_message_id
        self.composer.take_text()
        self.composer.finish_edit()
        if self.conversation_id is None:
            conversation = self.services.store.create(collections=self._pending_collections)
            self.conversation_id = conversation.id
            self.refresh_conversations()
        conversation_id = self.conversation_id
        assistant = self.services.assistant

        if editing is not None:
            edited = next((b for b in self.chat.bubbles if b.data.message_id == editing), None)
            if edited is not None:
                self.chat.remove_from(edited)

            def stream(token):  # type: ignore[no-untyped-def]
                return assistant.edit_and_resend(editing, text, cancel=token)
        else:

            def stream(token):  # type: ignore[no-untyped-def]
                return assistant.send(conversation_id, text, cancel=token)

        self._user_bubble = self.chat.add_bubble(BubbleData(role="user", text=text))
        self._run_generation(stream)

    def regenerate(self) -> None:
        if self.generation is not None or self.conversation_id is None:
            return
        if self.composer.blocked_reason is not None:
            return
        last_answer = next(
            (b for b in reversed(self.chat.bubbles) if b.data.role == "assistant"), None
        )
        if last_answer is not None:
            self.chat.remove_from(last_answer)
        conversation_id = self.conversation_id
        assistant = self.services.assistant
        self._user_bubble = None
        self._run_generation(lambda token: assistant.regenerate(conversation_id, cancel=token))

    def _run_generation(self, stream: Callable) -> None:
        model_name = self.services.loaded.name if self.services.loaded else ""
        self._stream_bubble = self.chat.start_streaming(
            BubbleData(role="assistant", model=model_name, state="streaming")
        )
        self.composer.set_generating(True)
        services = self.services
        conversation = services.store.get(self.conversation_id) if self.conversation_id else None
        grounded = bool(conversation and conversation.collections)
        handle = TaskHandle("generate")  # before submitting: the job reads it

        def job(report: Callable[[object], None]) -> object:
            from ember.assistant import ReplyDone

            if grounded:
                services.ensure_retriever()
            done = None
            for event in stream(handle.cancel_token):
                if isinstance(event, ReplyDone):
                    done = event
                report(event)
            return done

        self.tasks.run_on(
            self.tasks.engine,
            "generate",
            job,
            on_event=self._on_stream_event,
            on_done=self._on_stream_done,
            on_error=self._on_stream_error,
            handle=handle,
        )
        self.generation = handle

    def _on_stream_event(self, event: object) -> None:
        # Imported here, not at the top: the window paints before the core's modules load.
        from ember.assistant import ReplyDone, ReplyStarted
        from ember.engines.base import Token

        bubble = self._stream_bubble
        if bubble is None:
            return
        if isinstance(event, Token):
            bubble.append(event.text)
        elif isinstance(event, ReplyStarted):
            if self._user_bubble is not None:
                self._user_bubble.data.message_id = event.user_message.id
            bubble.data.message_id = event.reply_id
            if event.citations:
                bubble.set_citations(event.citations)
            self.refresh_conversations()
            self._refresh_title()
        elif isinstance(event, ReplyDone):
            bubble.finish(BubbleData.from_message(event.message))

    def _finish_generation(self) -> None:
        self.generation = None
        self._stream_bubble = None
        self._user_bubble = None
        self.chat.stop_streaming()
        self.composer.set_generating(False)
        self.refresh_conversations()
        self._refresh_title()

    def _on_stream_done(self, _result: object) -> None:
        self._finish_generation()

    def _on_stream_error(self, error: BaseException) -> None:
        bubble = self._stream_bubble
        if isinstance(error, GenerationCancelled):
            if bubble is not None:
                bubble.data.state = "cancelled"
                bubble.finish(bubble.data)
        elif bubble is not None:
            message = (
                str(error) if isinstance(error, EmberError) else f"Unexpected error: {error!r}"
            )
            if not isinstance(error, EmberError):
                log.error("generation failed", exc_info=error)
            bubble.fail(message)
        self._finish_generation()

    def stop(self) -> None:
        """Stop the answer being written (Esc); the text so far is kept."""
        if self.generation is not None:
            self.generation.cancel()

    def _refresh_title(self) -> None:
        if self.conversation_id is not None:
            conversation = self.services.store.get(self.conversation_id)
            if conversation is not None:
                self.title_label.setText(conversation.title)

    def _start_edit(self, data: BubbleData) -> None:
        if self.generation is not None or data.message_id is None:
            return
        self.composer.start_edit(data.message_id, data.text)

    # ------------------------------------------------------------------------------------------
    # links and sources

    def request_open_link(self, url: QUrl) -> None:
        """Links from answers open only after the person saw the URL and agreed."""
        if url.scheme() not in ("http", "https", "mailto"):
            self.notify(f"Not opening {url.toString()}: only web links open from answers.")
            return
        box = QMessageBox(self)
        box.setObjectName("ConfirmLink")
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Open link?")
        box.setText("This link comes from the model's answer. Open it in your browser?")
        box.setInformativeText(url.toString())
        box.setStandardButtons(QMessageBox.StandardButton.Open | QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def decided(result: int) -> None:
            if result == QMessageBox.StandardButton.Open:
                QDesktopServices.openUrl(url)

        box.finished.connect(decided)
        box.open()

    def show_citation(self, citation: Citation) -> SourceDialog:
        from ember.ui.dialogs import SourceDialog

        dialog = SourceDialog(citation, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    # ------------------------------------------------------------------------------------------
    # models

    def _fill_model_picker(self) -> None:
        picker = self.model_picker
        picker.blockSignals(True)
        picker.clear()
        current = self.services.settings.model
        choices = self.services.local_models() + self.ollama_choices
        if not any(c.key == current for c in choices):
            choices.append(ModelChoice(current, self.services.model_label(current), "llama.cpp"))
        for choice in choices:
            picker.addItem(choice.label, choice.key)
            picker.setItemData(
                picker.count() - 1,
                f"{choice.backend} {choice.detail}".strip(),
                Qt.ItemDataRole.ToolTipRole,
            )
        picker.insertSeparator(picker.count())
        picker.addItem("Add a GGUF file…", _ADD_GGUF)
        picker.addItem("Pull from Ollama…", _PULL_OLLAMA)
        index = picker.findData(current)
        picker.setCurrentIndex(max(0, index))
        picker.blockSignals(False)

    def _model_picked(self, index: int) -> None:
        key = self.model_picker.itemData(index)
        if key == _ADD_GGUF:
            self._fill_model_picker()
            path, _ = QFileDialog.getOpenFileName(
                self, "Add a model", str(Path.home()), "GGUF models (*.gguf)"
            )
            if path:
                self.add_gguf(Path(path))
            return
        if key == _PULL_OLLAMA:
            self._fill_model_picker()
            self.pull_ollama_dialog()
            return
        if key == self.services.settings.model and self.services.loaded is not None:
            return
        self.switch_model(str(key))

    def switch_model(self, key: str) -> None:
        try:
            self.services.choose_model(key)
        except EmberError as exc:
            self.show_error("Cannot use this model", str(exc))
            return
        self._fill_model_picker()
        self.load_model()

    def load_model(self) -> None:
        """Load the configured model on the engine worker; the composer waits with a reason."""
        key = self.services.settings.model
        label = self.services.model_label(key)
        self.model_loading = True
        self._set_composer_blocked(f"Loading {label}… you can type, sending waits for it.")
        self.model_label.setText(f"Loading {label}…")
        self.tasks.run_on(
            self.tasks.engine,
            "load-model",
            lambda _report: self.services.load_engine(key),
            on_done=self._model_loaded,
            on_error=self._model_failed,
        )

    def _model_loaded(self, loaded: LoadedModel) -> None:
        self.model_loading = False
        self._set_composer_blocked(None)
        self.model_label.setText(f"{loaded.name}  ·  {loaded.backend}")
        self._update_offline(loaded)

    def _model_failed(self, error: BaseException) -> None:
        self.model_loading = False
        message = str(error) if isinstance(error, EmberError) else repr(error)
        self.model_label.setText("No model loaded")
        self._set_composer_blocked(f"No model loaded: {message} Pick another model above.")
        self.show_error("The model could not be loaded", message)

    def _update_offline(self, loaded: LoadedModel) -> None:
        settings = self.services.settings
        remote = next(
            (r for r in settings.remotes if loaded.key == f"remote:{r.name}"),
            None,
        )
        if remote is not None:
            local = _is_loopback(remote.base_url)
        else:
            local = loaded.backend == "llama.cpp" or (
                loaded.backend == "ollama" and _is_loopback(settings.ollama_host)
            )
        self.offline_pill.setText("OFFLINE" if local else "REMOTE")
        self.offline_pill.setObjectName("Pill" if local else "PillRemote")
        self.offline_pill.setToolTip(
            "Everything runs on this computer; nothing is sent anywhere."
            if local
            else "Messages are sent to a server you configured."
        )
        self.offline_pill.style().unpolish(self.offline_pill)
        self.offline_pill.style().polish(self.offline_pill)

    def add_gguf(self, path: Path) -> None:
        """Check a GGUF's header (in the background), add it, and switch to it."""
        self.notify(f"Checking {path.name}…", 0)
        self.tasks.run_background(
            "add-gguf",
            lambda _report: self.services.add_gguf(path),
            on_done=self._gguf_added,
            on_error=lambda exc: self._gguf_failed(path, exc),
        )

    def _gguf_added(self, choice: ModelChoice) -> None:
        self.notify(f"Added {choice.label}.")
        self.switch_model(choice.key)

    def _gguf_failed(self, path: Path, error: BaseException) -> None:
        self.statusBar().clearMessage()
        message = str(error) if isinstance(error, EmberError) else repr(error)
        self.show_error("This model cannot be used", f"{path.name}: {message}")

    def refresh_ollama(self) -> None:
        self.tasks.run_background(
            "list-ollama",
            lambda _report: self.services.ollama_models(),
            on_done=self._ollama_listed,
            on_error=lambda _exc: None,
        )

    def _ollama_listed(self, choices: list[ModelChoice]) -> None:
        self.ollama_choices = choices
        self._fill_model_picker()

    def pull_ollama_dialog(self) -> None:
        name, ok = QInputDialog.getText(
            self, "Pull from Ollama", "Model name (for example llama3.2):"
        )
        if ok and name.strip():
            self.pull_ollama(name.strip())

    def pull_ollama(self, name: str) -> TaskHandle | None:
        """Download ``name`` into the Ollama server in the background, with progress and Cancel."""
        if self.pulling is not None:
            self.show_error("Pull from Ollama", "Ember is already pulling a model; wait or cancel.")
            return None
        services = self.services
        # Made before the job is submitted: the job reads it and may start at once.
        handle = TaskHandle(f"pull {name}")

        def job(report: Callable[[object], None]) -> str:
            for progress in services.pull_ollama(name, handle.cancel_token):
                report(progress)
            if handle.cancelled:
                raise GenerationCancelled(f"Stopped pulling {name}.")
            return name

        self.pull_label.setText(f"Pulling {name}…")
        self.pull_bar.setRange(0, 0)
        for widget in (self.pull_label, self.pull_bar, self.pull_cancel):
            widget.show()

        def progress(event: object) -> None:
            if isinstance(event, PullProgress) and not handle.cancelled:
                self.pull_label.setText(f"Pulling {name}: {event.status}")
                if event.total:
                    self.pull_bar.setRange(0, 1000)
                    self.pull_bar.setValue(int(1000 * event.completed / event.total))

        def ended() -> None:
            self.pulling = None
            for widget in (self.pull_label, self.pull_bar, self.pull_cancel):
                widget.hide()

        def done(_result: object) -> None:
            ended()
            self.notify(f"Pulled {name}.")
            self.refresh_ollama()

        def failed(error: BaseException) -> None:
            ended()
            if isinstance(error, GenerationCancelled):
                self.notify(f"Stopped pulling {name}.")
            else:
                message = str(error) if isinstance(error, EmberError) else repr(error)
                self.show_error("Pull failed", message)

        self.tasks.run_background(
            "pull", job, on_event=progress, on_done=done, on_error=failed, handle=handle
        )
        self.pulling = handle
        return handle

    def cancel_pull(self) -> None:
        if self.pulling is not None:
            self.pulling.cancel()
            self.pull_label.setText("Stopping the download…")

    # ------------------------------------------------------------------------------------------
    # settings

    def open_settings(self) -> SettingsDialog:
        from ember.ui.dialogs import SettingsDialog

        dialog = SettingsDialog(self.services.settings, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.apply_settings(dialog.result_settings))
        dialog.open()
        return dialog

    def apply_settings(self, settings: object) -> None:
        if settings is None:
            return
        try:
            reload_model = self.services.apply_settings(settings)  # type: ignore[arg-type]
        except EmberError as exc:
            self.show_error("Settings not saved", str(exc))
            return
        self.notify("Settings saved.")
        self._fill_model_picker()
        if reload_model:
            self.load_model()
            self.refresh_ollama()

    # ------------------------------------------------------------------------------------------
    # documents

    def refresh_collections(self) -> None:
        if not self.services.knowledge_available():
            self.sidebar.set_collections([], None)
            return
        self.tasks.run_on(
            self.tasks.knowledge,
            "list-collections",
            lambda _report: self.services.collections(),
            on_done=self._collections_listed,
            on_error=self._collections_list_failed,
        )

    def _collections_list_failed(self, error: BaseException) -> None:
        self.notify(f"Could not list documents: {error}")
        if self.paths_at_start:
            self._open_paths_at_start()

    def _collections_listed(self, infos: list[CollectionInfo]) -> None:
        self.collection_infos = infos
        self.sidebar.set_collections(infos, self.indexing_collection)
        self._update_collections_button()
        if infos:
            self.warm_retriever()
        if self.paths_at_start:
            self._open_paths_at_start()

    def warm_retriever(self) -> None:
        """Load the embedder in its helper process now, not when the first question waits."""
        if self._retriever_warmed:
            return
        self._retriever_warmed = True
        self.tasks.run_background(
            "warm-retriever",
            lambda _report: self.services.warm_retriever(),
            on_error=lambda exc: log.warning("document search helper: %s", exc),
        )

    def _current_collections(self) -> tuple[str, ...]:
        if self.conversation_id is None:
            return self._pending_collections
        conversation = self.services.store.get(self.conversation_id)
        return conversation.collections if conversation else ()

    def set_chat_collections(self, names: tuple[str, ...]) -> None:
        """Which collections answer in the current chat (none, one, several, all)."""
        if self.conversation_id is None:
            self._pending_collections = names
        else:
            self.services.store.set_collections(self.conversation_id, names)
        self._update_collections_button()

    def _use_collection(self, name: str) -> None:
        self.set_chat_collections((name,))
        self.notify(f"This chat now answers from “{name}”.")

    def _update_collections_button(self) -> None:
        chosen = self._current_collections()
        names = [c.name for c in self.collection_infos]
        if not chosen:
            text = "No documents"
        elif names and set(chosen) >= set(names) and len(names) > 1:
            text = "All documents"
        elif len(chosen) == 1:
            text = f"Documents: {chosen[0]}"
        else:
            text = f"Documents: {len(chosen)} collections"
        self.collections_button.setText(text + "  ▾")

    def _fill_collections_menu(self) -> None:
        menu = self.collections_menu
        menu.clear()
        chosen = set(self._current_collections())
        none = menu.addAction("No documents (plain chat)")
        none.setCheckable(True)
        none.setChecked(not chosen)
        none.triggered.connect(lambda: self.set_chat_collections(()))
        names = [c.name for c in self.collection_infos]
        if names:
            every = menu.addAction("All collections")
            every.setCheckable(True)
            every.setChecked(bool(chosen) and chosen >= set(names))
            every.triggered.connect(lambda: self.set_chat_collections(tuple(names)))
            menu.addSeparator()
        for name in names:
            action = menu.addAction(name)
            action.setCheckable(True)
            action.setChecked(name in chosen)
            action.triggered.connect(lambda checked, n=name: self._toggle_collection(n, checked))
        menu.addSeparator()
        menu.addAction("Add documents…", self.choose_documents)

    def _toggle_collection(self, name: str, checked: bool) -> None:
        chosen = list(self._current_collections())
        if checked and name not in chosen:
            chosen.append(name)
        elif not checked and name in chosen:
            chosen.remove(name)
        self.set_chat_collections(tuple(chosen))

    def choose_documents(self) -> None:
        if not self.services.knowledge_available():
            self.show_error("Documents", "Document indexing is not available in this build yet.")
            return
        menu_choice = QFileDialog.getOpenFileNames(self, "Add documents", str(Path.home()))
        paths = [Path(p) for p in menu_choice[0]]
        if paths:
            self.add_documents(paths)

    def add_documents(self, paths: list[Path], collection: str | None = None) -> None:
        """Ask which collection (unless given), then index in the background."""
        if not self.services.knowledge_available():
            self.show_error("Documents", "Document indexing is not available in this build yet.")
            return
        if self.indexing is not None:
            self.show_error("Documents", "Ember is still indexing; wait for it or cancel it first.")
            return
        if collection is not None:
            self.index_documents(paths, collection)
            return
        from ember.ui.dialogs import CollectionDialog

        suggestion = paths[0].name if len(paths) == 1 and paths[0].is_dir() else "My documents"
        dialog = CollectionDialog(
            [c.name for c in self.collection_infos], suggestion, len(paths), self
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.index_documents(paths, dialog.collection()))
        dialog.open()

    def index_documents(self, paths: list[Path], collection: str) -> TaskHandle:
        services = self.services
        handle = TaskHandle(f"index {collection}")  # before submitting: the job reads it

        def job(report: Callable[[object], None]) -> IndexResult:
            return services.index(paths, collection, report, handle.cancel_token)

        self.indexing_collection = collection
        self.index_label.setText(f"Indexing “{collection}”…")
        self.index_bar.setRange(0, 0)
        for widget in (self.index_label, self.index_bar, self.index_cancel):
            widget.show()
        self.index_report.hide()
        self.tasks.run_on(
            self.tasks.knowledge,
            "index",
            job,
            on_event=self._index_progress,
            on_done=self._index_done,
            on_error=self._index_failed,
            handle=handle,
        )
        self.indexing = handle
        self.warm_retriever()  # the first question after indexing then answers at once
        self.sidebar.set_collections(
            self.collection_infos
            if any(c.name == collection for c in self.collection_infos)
            else [*self.collection_infos, CollectionInfo(collection, state="indexing")],
            collection,
        )
        return handle

    def _index_progress(self, event: object) -> None:
        if not isinstance(event, IndexProgress):
            return
        if event.files_total:
            self.index_bar.setRange(0, event.files_total)
            self.index_bar.setValue(event.files_done)
        parts = [
            f"Indexing “{self.indexing_collection}”: {event.files_done}/{event.files_total} files",
            f"{event.chunks} passages",
        ]
        eta = _eta(event.eta_s)
        if eta:
            parts.append(eta)
        if event.failed:
            parts.append(f"{event.failed} failed")
        if event.phase in ("discovering", "saving"):
            parts = [f"{event.phase.capitalize()} “{self.indexing_collection}”…"]
        self.index_label.setText(" · ".join(parts))
        self.index_label.setToolTip(event.current)

    def _index_done(self, result: IndexResult) -> None:
        self.indexing = None
        self.indexing_collection = None
        self.last_index_result = result
        for widget in (self.index_bar, self.index_cancel):
            widget.hide()
        if result.cancelled:
            # Files read before the stop are not counted: only finished batches are kept.
            self.index_label.setText(
                f"Stopped indexing “{result.collection}”: {result.chunks} passages kept; "
                "add the same files again to finish"
            )
        else:
            self.index_label.setText(
                f"Indexed “{result.collection}”: {result.files_indexed} new or changed files, "
                f"{result.files_skipped} unchanged, {result.chunks} passages"
            )
        QTimer.singleShot(8000, self._hide_index_label)
        if result.errors or result.warnings:
            parts = []
            if result.errors:
                parts.append(f"{len(result.errors)} file(s) not indexed")
            if result.warnings:
                count = len(result.warnings)
                parts.append(f"{count} warning{'s' if count > 1 else ''}")
            self.index_report.setText(f"{', '.join(parts)} — details")
            self.index_report.show()
        if (
            not result.cancelled
            and (result.files_indexed or result.files_skipped)
            and result.collection not in self._current_collections()
        ):
            self.set_chat_collections((*self._current_collections(), result.collection))
        self.refresh_collections()

    def _hide_index_label(self) -> None:
        if self.indexing is None:
            self.index_label.hide()

    def _index_failed(self, error: BaseException) -> None:
        self.indexing = None
        collection = self.indexing_collection
        self.indexing_collection = None
        for widget in (self.index_bar, self.index_cancel, self.index_label):
            widget.hide()
        if not isinstance(error, GenerationCancelled):
            message = str(error) if isinstance(error, EmberError) else repr(error)
            self.show_error("Indexing failed", f"“{collection}”: {message}")
        self.refresh_collections()

    def cancel_indexing(self) -> None:
        if self.indexing is not None:
            self.indexing.cancel()
            self.index_label.setText("Stopping…")

    def show_index_report(self) -> None:
        result = self.last_index_result
        if result is None or not (result.errors or result.warnings):
            return
        from ember.ui.dialogs import IndexReportDialog

        dialog = IndexReportDialog(
            result.collection, list(result.errors), self, warnings=list(result.warnings)
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    # ------------------------------------------------------------------------------------------
    # drag and drop

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        if urls and all(u.isLocalFile() for u in urls):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragEnterEvent) -> None:
        self.dragEnterEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        paths = [Path(u.toLocalFile()) for u in urls if u.isLocalFile()]
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        # Let the drop finish before a dialog opens (some platforms hold the drag otherwise).
        QTimer.singleShot(0, lambda: self.open_paths(paths))

    def open_paths(self, paths: list[Path]) -> None:
        """What a drop (or ``ember PATH...``) means: a ``.gguf`` is added as a model, other files
        and folders are offered for indexing."""
        models = [p for p in paths if p.suffix.lower() == ".gguf" and p.is_file()]
        documents = [p for p in paths if p not in models]
        for model in models:
            self.add_gguf(model)
        if documents:
            self.add_documents(documents)

    # ------------------------------------------------------------------------------------------
