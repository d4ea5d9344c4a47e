"""Ember's main window: composition and layout only. Each job's widgets go to its controller
(conversations, generation, model_picker, documents); controllers tell the person things through
:mod:`ember.ui.message`, which :class:`~ember.ui.message_view.MessageView` shows."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ember.core import Core
from ember.ui import accessibility, message, shortcuts
from ember.ui.api_control import ApiControl
from ember.ui.chat_db import ChatDb
from ember.ui.chatview import ChatView
from ember.ui.composer import Composer
from ember.ui.conversations import ChatWidgets, Conversations
from ember.ui.documents import Documents, DocumentWidgets
from ember.ui.documents_admin import DocumentsAdmin
from ember.ui.drops import FileDrops
from ember.ui.elided import ElidedLabel, ElidedToolButton
from ember.ui.first_paint import AfterFirstPaint
from ember.ui.generation import Generation
from ember.ui.message_view import MessageView
from ember.ui.model_picker import ModelPicker, Models, ModelWidgets
from ember.ui.qt import (
    QCloseEvent,
    QDesktopServices,
    QFrame,
    QHBoxLayout,
    QMainWindow,
    QMenu,
    QSizePolicy,
    QSplitter,
    Qt,
    QTimer,
    QToolButton,
    QUrl,
    QVBoxLayout,
    QWidget,
)
from ember.ui.sidebar import Sidebar
from ember.ui.state import UiState
from ember.ui.statusbar import build_status_bar
from ember.ui.tasks import TaskManager
from ember.ui.theme import Theme, app_icon
from ember.ui.token_count import TokenCount
from ember.ui.tools_menu import ChatTools

if TYPE_CHECKING:
    from ember.knowledge.types import Citation
    from ember.ui.source_viewer import SourceViewer


def _via(controller: str, name: str) -> property:
    """A read-only window attribute that is the named controller's (tests and app.py read it)."""
    return property(lambda self: getattr(getattr(self, controller), name))


class MainWindow(QMainWindow):
    conversation_id = _via("conversations", "conversation_id")
    history_error = _via("conversations", "history_error")
    generation = _via("generator", "handle")
    model_loading = _via("models", "loading")
    pulling = _via("models", "pulling")
    indexing = _via("documents", "indexing")
    collection_infos = _via("documents", "infos")
    last_index_result = _via("documents", "last_result")

    def __init__(self, core: Core, tasks: TaskManager, theme: Theme) -> None:
        super().__init__()
        self.core = core
        self.tasks = tasks
        self.theme = theme
        self.ui_state = UiState(core.paths)
        self.chat_db = ChatDb(core, tasks)
        self.setObjectName("MainWindow")
        self.setWindowTitle("Ember")
        self.setWindowIcon(app_icon())
        self.resize(1180, 780)
        # Files and folders from ``ember PATH...``: offered for indexing once the window is up.
        self.paths_at_start: list[Path] = []
        self.start_background_when_shown = True  # create_window(start_background=False) clears it
        self._closing = False
        self._started = False
        self._documents_listed = False
        self._model_block: str | None = None  # why the model keeps the composer blocked, if so

        self._build()
        self._controllers()
        shortcuts.install(self)
        self.focus_order = accessibility.install(self)  # names, and Tab in reading order
        self.drops = FileDrops(self, self.open_paths)
        self._restore_state()
        self.messages = MessageView(self)
        self.messages.attach(True)
        # Conversations, the last chat and the model start after the first paint: the person
        # sees the window at once, and its contents fill in a moment later.
        self._first_paint = AfterFirstPaint(self, self._after_first_paint)

    # ------------------------------------------------------------------------------------------
    # layout

    def _build(self) -> None:
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setChildrenCollapsible(False)
        self.sidebar = Sidebar(self.splitter)

        right = QWidget(self.splitter)
        column = QVBoxLayout(right)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)

        top = QFrame(right)
        top.setObjectName("TopBar")
        bar = QHBoxLayout(top)
        bar.setContentsMargins(20, 10, 16, 10)
        self.title_label = ElidedLabel("New chat", top)  # the whole title is its tooltip
        self.title_label.setObjectName("ChatTitle")
        # Leftover space only, so a long title never squeezes the picker or widens the window.
        self.title_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.title_label.setMinimumWidth(80)
        bar.addWidget(self.title_label, 1)
        self.collections_button = ElidedToolButton(top)  # names the choice, however long
        self.collections_button.setObjectName("HeaderButton")
        self.collections_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.collections_button.setToolTip("Which documents answer in this chat")
        self.collections_menu = QMenu(self.collections_button)
        self.collections_button.setMenu(self.collections_menu)
        bar.addWidget(self.collections_button)
        self.model_picker = ModelPicker(top)
        bar.addWidget(self.model_picker)
        self.more_button = QToolButton(top)
        self.more_button.setObjectName("HeaderButton")
        self.more_button.setText("⋯")
        self.more_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.more_menu = QMenu(self.more_button)
        self.more_button.setMenu(self.more_menu)
        bar.addWidget(self.more_button)
        column.addWidget(top)

        self.chat = ChatView(self.theme.color("code"), right)
        column.addWidget(self.chat, 1)

        self.undo_bar = QFrame(right)
        self.undo_bar.setObjectName("UndoBar")
        undo_row = QHBoxLayout(self.undo_bar)
        undo_row.setContentsMargins(12, 4, 6, 4)
        self.undo_label = ElidedLabel("", self.undo_bar)  # names the chat, however long
        undo_row.addWidget(self.undo_label, 1)
        self.undo_button = QToolButton(self.undo_bar)
        self.undo_button.setText("Undo")
        undo_row.addWidget(self.undo_button)
        self.undo_bar.hide()
        undo_holder = QHBoxLayout()
        undo_holder.setContentsMargins(24, 0, 24, 0)
        undo_holder.addWidget(self.undo_bar)
        column.addLayout(undo_holder)

        self.composer = Composer(right)
        column.addWidget(self.composer)

        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([270, 910])
        self.setCentralWidget(self.splitter)

        self.status_widgets = build_status_bar(self)
        for name in self.status_widgets.__slots__:  # window.model_label, window.index_bar, ...
            setattr(self, name, getattr(self.status_widgets, name))
        # Filled right after the first paint: reading the settings (pydantic) and the catalog is
        # not needed to show the window.
        self.model_picker.addItem("Loading models…")

    def _controllers(self) -> None:
        """One controller per job, each given its widgets; then the wiring between them."""
        chats = ChatWidgets(
            self, self.sidebar, self.chat, self.composer, self.title_label, self.undo_bar,
            self.undo_label,
        )  # fmt: skip
        self.conversations = Conversations(self.chat_db, chats, self)
        self.conversations.opened.connect(self.ui_state.remember_conversation)  # kept at once
        self._undo_timer = self.conversations.undo_timer
        self.generator = Generation(
            self.core, self.tasks, self.conversations, self.chat, self.composer, self
        )
        status = self.status_widgets
        self.models = Models(
            self.core, self.tasks, ModelWidgets(self, self.model_picker, status), self
        )
        docs = DocumentWidgets(
            self, self.sidebar, self.collections_button, self.collections_menu, status
        )
        self.documents = Documents(self.core, self.tasks, self.conversations, docs, self)
        self.documents_admin = DocumentsAdmin(  # the documents page and the folder watches
            self.core, self.tasks, self.documents, self.conversations, self
        )
        # What the tests, the benchmark and the app call on the window, by job.
        c, g, m, d = self.conversations, self.generator, self.models, self.documents
        self.new_chat, self.open_conversation = c.new_chat, c.open
        self.rename_conversation, self.rename_to = c.rename, c.rename_to
        self.delete_conversation, self.undo_delete = c.delete, c.undo_delete
        self.export_conversation, self.export_to = c.export, c.export_to
        self.set_chat_collections = c.set_collections
        self.send, self.regenerate, self.stop = g.send, g.regenerate, g.stop
        self.load_model, self.add_gguf, self.pull_ollama = m.load_model, m.add_gguf, m.pull
        self.open_settings, self.apply_settings = m.open_settings, m.apply_settings
        self.index_documents, self.add_documents = d.index, d.add
        self.refresh_conversations, self.refresh_collections = c.refresh, d.refresh

        s = self.sidebar
        s.newChatRequested.connect(c.new_chat)
        s.conversationSelected.connect(c.open)
        s.renameRequested.connect(c.rename)
        s.deleteRequested.connect(c.delete)
        s.exportRequested.connect(c.export)
        s.searchChanged.connect(lambda _q: c.refresh())
        s.addDocumentsRequested.connect(d.choose)
        s.collectionActivated.connect(d.use)
        s.settingsRequested.connect(m.open_settings)
        s.modelsRequested.connect(m.open_hub)
        more = self.more_menu
        more.addAction("Rename chat…", lambda: c.rename(c.conversation_id))
        more.addAction("Export as Markdown…", lambda: c.export(c.conversation_id, "markdown"))
        more.addAction("Export as JSON…", lambda: c.export(c.conversation_id, "json"))
        more.addSeparator()
        more.addAction("Delete chat", lambda: c.delete(c.conversation_id))
        self.chat.linkRequested.connect(self.request_open_link)
        self.chat.citationRequested.connect(self.show_citation)
        self.chat.regenerateRequested.connect(g.regenerate)
        self.chat.updateIndexRequested.connect(d.update_index)
        self.chat.editRequested.connect(g.start_edit)
        self.chat.suggestionPicked.connect(g.suggestion)
        g.betterModelRequested.connect(self.model_picker.showPopup)
        self.composer.sendRequested.connect(g.send)
        self.composer.stopRequested.connect(g.stop)
        self.undo_button.clicked.connect(c.undo_delete)
        c.switching.connect(g.switched)
        c.historyOpened.connect(self._history_opened)
        c.openingChanged.connect(self._apply_composer_block)
        m.blocked.connect(self._set_model_block)
        self.token_count = TokenCount(self.core, self.tasks, self.composer, self)
        m.blocked.connect(lambda _reason: self.token_count.schedule())  # another model, context
        m.settingsSaved.connect(lambda settings: self._theme_chosen(settings.theme))
        d.listed.connect(self._collections_listed)
        d.update_button()
        self.api = ApiControl(self.core, self.tasks, self)  # the local API, when switched on
        m.settingsSaved.connect(self.api.apply)
        self.chat_tools = ChatTools(self, g)  # the chat's tools and thinking choice

    # ------------------------------------------------------------------------------------------
    # start and stop

    def _restore_state(self) -> None:
        geometry = self.ui_state.geometry
        if geometry is not None:
            self.restoreGeometry(geometry)
        splitter = self.ui_state.splitter
        if splitter is not None:
            self.splitter.restoreState(splitter)
        self.conversations.drafts.load(self.ui_state)

    @property
    def started(self) -> bool:
        """True once the window has filled in after its first paint (chats, last chat, model)."""
        return self._started

    def _after_first_paint(self) -> None:
        """Fill in what the first paint did not need: chats, the last one open, the model."""
        if self._started or self.conversations.opening_history or self._closing:
            return
        self.conversations.open_history(self.ui_state.last_conversation)
        self._apply_composer_block()
        if self.start_background_when_shown:
            self.start_background()

    def _history_opened(self) -> None:
        if self._closing:
            return
        self._started = True
        self._apply_composer_block()
        self.composer.input.setFocus()  # typing goes to the message box, not to "New chat"
        QTimer.singleShot(0, self.chat, self.chat.warm_up)  # the first Send pays no warm-up
        if self.paths_at_start and (self._documents_listed or not self.start_background_when_shown):
            QTimer.singleShot(0, self._open_paths_at_start)
        # Otherwise they open once the collections are listed, so the dialog can offer them.

    def _collections_listed(self) -> None:
        self._documents_listed = True
        if self._started:
            self._open_paths_at_start()

    def _open_paths_at_start(self) -> None:
        paths, self.paths_at_start = self.paths_at_start, []
        if paths and not self._closing:
            self.open_paths(paths)

    def _theme_chosen(self, choice: str) -> None:
        self.theme.choose(choice)
        self.chat.code_color = self.theme.color("code")  # code blocks rendered from now on

    def _set_model_block(self, reason: str | None) -> None:
        self._model_block = reason
        self._apply_composer_block()

    def _apply_composer_block(self) -> None:
        """A damaged history blocks sending for good; else the model's reason, or the history
        (or a chat) still opening."""
        c = self.conversations
        if c.history_error is not None:
            reason: str | None = (
                "Chats cannot be saved: the chat history could not be opened. Restore it or move "
                "it aside, then restart Ember."
            )
        elif self._model_block is not None:
            reason = self._model_block
        elif c.opening_history:
            reason = "Opening your chat history…"
        elif c.opening_chat:
            reason = "Opening the chat…"
        else:
            reason = None
        self.composer.set_blocked(reason)

    def start_background(self) -> None:
        """After the window is on screen: load the model, list documents and servers."""
        if self._closing:
            return
        self.models.read_settings()
        self.models.fill_picker()
        self.models.load_model()
        self.documents.refresh()
        self.models.refresh_ollama()
        self.models.hub.restore()  # downloads left unfinished, listed paused
        self.api.start_if_enabled()

    def closeEvent(self, event: QCloseEvent) -> None:
        self._closing = True
        self.messages.attach(False)
        self.documents_admin.stop()
        self.ui_state.save(self.saveGeometry(), self.splitter.saveState(), self.conversation_id)
        self.conversations.drafts.save(self.ui_state, self.conversation_id)
        for handle in (self.generation, self.indexing, self.pulling):
            if handle is not None:
                handle.cancel()
        # The undo offer ends with the window: shutdown_window erases the trash once the
        # workers have stopped (a queued job could still be deleting).
        super().closeEvent(event)

    # ------------------------------------------------------------------------------------------
    # links and sources

    def request_open_link(self, url: QUrl) -> None:
        """Links from answers open only after the person saw the URL and agreed."""
        if url.scheme() not in ("http", "https", "mailto"):
            message.info(f"Not opening {url.toString()}: only web links open from answers.")
            return
        question = message.Question(
            name="ConfirmLink",
            title="Open link?",
            text="This link comes from the model's answer. Open it in your browser?",
            detail=url.toString(),
            yes="open",
            on_yes=lambda: QDesktopServices.openUrl(url),
        )
        message.ask(question)

    def show_citation(self, citation: Citation | tuple[Citation, ...]) -> SourceViewer:
        from ember.ui.source_reindex import reindex_source
        from ember.ui.source_viewer import SourceViewer  # the pane beside the chat, made once

        viewer = getattr(self, "source_viewer", None) or SourceViewer(self.tasks, self.splitter)
        if viewer is not getattr(self, "source_viewer", None):  # another chat's sources: closed
            self.conversations.switching.connect(viewer.close_pane)
            self.composer.escapedIdle.connect(viewer.close_pane)
            viewer.reindexRequested.connect(lambda path: reindex_source(self, path))
        self.source_viewer = viewer
        return viewer.show_sources(citation)

    # ------------------------------------------------------------------------------------------
    # files and folders from a drop or ``ember PATH...``

    def offer_paths(self, paths: list[Path]) -> None:
        """Paths from a later ``ember PATH...``: opened now, or with the start's own if the
        window has not opened those yet."""
        if self._started and (self._documents_listed or not self.start_background_when_shown):
            self.open_paths(paths)
        else:
            self.paths_at_start.extend(paths)

    def open_paths(self, paths: list[Path]) -> None:
        """What a drop (or ``ember PATH...``) means: a ``.gguf`` is added as a model, other files
        and folders are offered for indexing."""
        models = [p for p in paths if p.suffix.lower() == ".gguf" and p.is_file()]
        documents = [p for p in paths if p not in models]
        for model in models:
            self.models.add_gguf(model)
        if documents:
            self.documents.add(documents)
