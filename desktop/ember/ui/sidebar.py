"""The left column: chats (newest first, searchable) and document collections with their state."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ember.ui.accessibility import name
from ember.ui.qt import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPoint,
    QPushButton,
    QSize,
    Qt,
    QTimer,
    QToolButton,
    QVBoxLayout,
    QWidget,
    Signal,
)

if TYPE_CHECKING:
    from ember.chats.records import Conversation
    from ember.core import CollectionState

_ID_ROLE = Qt.ItemDataRole.UserRole

_STATE_BADGE = {
    "ready": "ready",
    "indexing": "indexing…",
    "empty": "empty",
}


def age_text(timestamp: float, now: float | None = None, dated: str = "%d %b") -> str:
    """How long ago ``timestamp`` (epoch seconds) was, as a person says it: "just now",
    "12 min ago", "3 h ago"; a day or more ago, the date in ``dated`` (strftime)."""
    seconds = max(0.0, (time.time() if now is None else now) - timestamp)
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    return time.strftime(dated, time.localtime(timestamp))


class Sidebar(QFrame):
    newChatRequested = Signal()
    conversationSelected = Signal(int)
    renameRequested = Signal(int)
    deleteRequested = Signal(int)
    exportRequested = Signal(int, str)  # id, "markdown" | "json"
    searchChanged = Signal(str)
    addDocumentsRequested = Signal()  # "Add files…"
    addFolderRequested = Signal()
    manageDocumentsRequested = Signal(str)  # the collection to show ("": the first)
    collectionActivated = Signal(str)
    searchCollectionRequested = Signal(str)  # "Search in it…" on a collection
    settingsRequested = Signal()
    modelsRequested = Signal()  # the Models page: find, download, choose models

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Sidebar")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 8)
        layout.setSpacing(6)

        brand_row = QHBoxLayout()
        brand = QLabel("Ember", self)
        brand.setObjectName("Brand")
        brand_row.addWidget(brand)
        brand_row.addStretch(1)
        layout.addLayout(brand_row)

        self.new_chat = QPushButton("+  New chat", self)
        self.new_chat.setObjectName("Primary")
        name(self.new_chat, "New chat")
        self.new_chat.setToolTip("Start a new chat (Ctrl+N)")
        self.new_chat.clicked.connect(self.newChatRequested.emit)
        layout.addWidget(self.new_chat)

        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search chats…")
        self.search.setClearButtonEnabled(True)
        name(self.search, "Search chats", "Shows the chats whose title or messages match")
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(150)
        self._search_timer.timeout.connect(lambda: self.searchChanged.emit(self.search.text()))
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        layout.addWidget(self.search)

        chats_title = QLabel("CHATS", self)
        chats_title.setObjectName("SectionTitle")
        layout.addWidget(chats_title)
        self.chats = QListWidget(self)
        self.chats.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.chats.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.chats.customContextMenuRequested.connect(self._chat_menu)
        self.chats.itemClicked.connect(self._chat_clicked)
        self.chats.currentItemChanged.connect(self._chat_changed)
        self.chats.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.chats.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.chats.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.chats.setUniformItemSizes(True)
        name(self.chats, "Chats", "Enter opens a chat; the context menu renames, exports, deletes")
        layout.addWidget(self.chats, 3)
        self.no_results = QLabel("No chats match.", self)
        self.no_results.setObjectName("Muted")
        self.no_results.hide()
        layout.addWidget(self.no_results)

        docs_row = QHBoxLayout()
        docs_title = QLabel("DOCUMENTS", self)
        docs_title.setObjectName("SectionTitle")
        docs_row.addWidget(docs_title)
        docs_row.addStretch(1)
        self.add_docs = QToolButton(self)
        self.add_docs.setText("+ Add")
        name(self.add_docs, "Add documents")
        self.add_docs.setToolTip("Add files or a folder (or drop them on the window)")
        self.add_docs.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        add_menu = QMenu(self.add_docs)
        self.add_files_action = add_menu.addAction("Add files…", self.addDocumentsRequested.emit)
        self.add_folder_action = add_menu.addAction("Add folder…", self.addFolderRequested.emit)
        add_menu.addSeparator()
        add_menu.addAction("Manage documents…", lambda: self.manageDocumentsRequested.emit(""))
        self.add_docs.setMenu(add_menu)
        docs_row.addWidget(self.add_docs)
        layout.addLayout(docs_row)
        self.collections = QListWidget(self)
        self.collections.setObjectName("Collections")
        name(self.collections, "Document collections", "Enter uses a collection in this chat")
        self.collections.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.collections.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.collections.itemActivated.connect(
            lambda item: self.collectionActivated.emit(item.data(_ID_ROLE))
        )
        self.collections.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.collections.customContextMenuRequested.connect(self._collection_menu)
        self.collections.setMaximumHeight(170)
        layout.addWidget(self.collections, 1)
        self.no_collections = QLabel(
            "Drop files or folders on the window\nto chat with them.", self
        )
        self.no_collections.setObjectName("Muted")
        self.no_collections.setWordWrap(True)  # a larger system font wraps it, never cuts it
        layout.addWidget(self.no_collections)

        self.settings_button = QToolButton(self)
        self.settings_button.setText("⚙  Settings")
        name(self.settings_button, "Settings")
        self.settings_button.setToolTip("Settings (Ctrl+,)")
        self.settings_button.clicked.connect(self.settingsRequested.emit)
        self.models_button = QToolButton(self)
        self.models_button.setText("◆  Models")
        name(self.models_button, "Models")
        self.models_button.setToolTip("Find, download and choose models (Ctrl+Shift+M)")
        self.models_button.clicked.connect(self.modelsRequested.emit)
        # One per row, Models above Settings: side by side they widen the sidebar at 150 %.
        layout.addWidget(self.models_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.settings_button, 0, Qt.AlignmentFlag.AlignLeft)
        self._suppress = False

    def minimumSizeHint(self) -> QSize:
        """At least 220 px wide, wider when its text needs it (a larger system font)."""
        hint = super().minimumSizeHint()
        return QSize(max(220, hint.width()), hint.height())

    # -- chats ------------------------------------------------------------------------------------

    def set_conversations(self, conversations: list[Conversation], current: int | None) -> None:
        self._suppress = True
        try:
            self.chats.clear()
            for conversation in conversations:
                item = QListWidgetItem(conversation.title)
                item.setData(_ID_ROLE, conversation.id)
                item.setToolTip(
                    f"{conversation.title}\nLast active {age_text(conversation.updated)}"
                )
                self.chats.addItem(item)
                if conversation.id == current:
                    self.chats.setCurrentItem(item)
        finally:
            self._suppress = False
        self.no_results.setVisible(not conversations and bool(self.search.text().strip()))

    def show_history_problem(self, text: str) -> None:
        """The chat history could not be opened: say so where the chats would be."""
        self.chats.clear()
        self.chats.setEnabled(False)
        self.search.setEnabled(False)
        self.no_results.setText(text)
        self.no_results.setObjectName("Error")
        self.no_results.setWordWrap(True)
        self.no_results.show()

    def select(self, conversation_id: int | None) -> None:
        self._suppress = True
        try:
            self.chats.setCurrentItem(None)  # type: ignore[arg-type]
            for row in range(self.chats.count()):
                item = self.chats.item(row)
                if item.data(_ID_ROLE) == conversation_id:
                    self.chats.setCurrentItem(item)
                    break
        finally:
            self._suppress = False

    def conversation_ids(self) -> list[int]:
        return [self.chats.item(r).data(_ID_ROLE) for r in range(self.chats.count())]

    def _chat_clicked(self, item: QListWidgetItem) -> None:
        self.conversationSelected.emit(int(item.data(_ID_ROLE)))

    def _chat_changed(self, current: QListWidgetItem | None, _previous: object) -> None:
        if current is not None and not self._suppress:
            self.conversationSelected.emit(int(current.data(_ID_ROLE)))

    def _chat_menu(self, pos: QPoint) -> None:
        item = self.chats.itemAt(pos)
        if item is None:
            return
        conversation_id = int(item.data(_ID_ROLE))
        menu = QMenu(self)
        menu.addAction("Rename…", lambda: self.renameRequested.emit(conversation_id))
        menu.addAction(
            "Export as Markdown…", lambda: self.exportRequested.emit(conversation_id, "markdown")
        )
        menu.addAction(
            "Export as JSON…", lambda: self.exportRequested.emit(conversation_id, "json")
        )
        menu.addSeparator()
        menu.addAction("Delete", lambda: self.deleteRequested.emit(conversation_id))
        menu.exec(self.chats.viewport().mapToGlobal(pos))

    # -- collections ------------------------------------------------------------------------------

    def _collection_menu(self, pos: QPoint) -> None:
        item = self.collections.itemAt(pos)
        if item is None:
            return
        self.collection_menu(str(item.data(_ID_ROLE))).exec(
            self.collections.viewport().mapToGlobal(pos)
        )

    def collection_menu(self, name: str) -> QMenu:
        """The right-click menu of collection ``name``."""
        menu = QMenu(self)
        menu.addAction("Use in this chat", lambda: self.collectionActivated.emit(name))
        menu.addAction("Search in it…", lambda: self.searchCollectionRequested.emit(name))
        menu.addAction("Manage…", lambda: self.manageDocumentsRequested.emit(name))
        return menu

    def set_collections(
        self,
        collections: list[CollectionState],
        indexing: str | None,
        passages_so_far: int | None = None,
    ) -> None:
        """Show ``collections`` with their real state: ``indexing`` is being indexed now, with
        ``passages_so_far`` passages embedded in this run. The same collections again (a progress
        update) change the rows' text in place, so the list keeps its current row and focus."""
        rows = [_collection_row(c, indexing, passages_so_far) for c in collections]
        names = [c.info.name for c in collections]
        shown = [self.collections.item(r).data(_ID_ROLE) for r in range(self.collections.count())]
        if shown != names:
            self.collections.clear()
            for name in names:
                item = QListWidgetItem()
                item.setData(_ID_ROLE, name)
                self.collections.addItem(item)
        for row, (text, tip) in enumerate(rows):
            item = self.collections.item(row)
            if item.text() != text:
                item.setText(text)
            item.setToolTip(tip)
        self.no_collections.setVisible(not collections)
        self.collections.setVisible(bool(collections))


def _collection_row(
    collection: CollectionState, indexing: str | None, passages_so_far: int | None
) -> tuple[str, str]:
    """A collection's two lines ("manuals" / "12 files · ready") and its tooltip.

    Its files and passages are the searchable ones (of finished documents), as the documents
    page counts them; while it is being indexed, the line counts this run's own work (a
    re-index replaces passages, so adding them to the collection's would overcount)."""
    info = collection.info
    files = f"{info.documents:,} file{'' if info.documents == 1 else 's'}"
    tip = f"{info.name}: {files} searchable, {info.chunks:,} passages"
    problems = [f"{len(collection.failures):,} failed"] if collection.failures else []
    if collection.skipped:
        problems.append(f"{collection.skipped:,} skipped")
    if info.name == indexing:
        detail = (
            f"indexing · {passages_so_far:,} passages embedded" if passages_so_far else "indexing…"
        )
    elif collection.state == "unfinished":
        detail = f"{info.chunks:,} passages searchable · unfinished"
        count = collection.unfinished
        tip += (
            f"\n{count:,} file{' is' if count == 1 else 's are'} not finished: "
            f"{'its' if count == 1 else 'their'} {collection.unfinished_passages:,} passages "
            "are not searchable yet. Index again to finish: add the same files again, "
            "or Re-index on the documents page."
        )
    elif problems:
        detail = f"{files} · {', '.join(problems)}"
    else:
        detail = f"{files} · {_STATE_BADGE.get(collection.state, collection.state)}"
    if problems:
        tip += f"\n{', '.join(problems)}: see the documents page for why"
    if collection.failures:
        tip += "\n\nCould not index:\n" + "\n".join(collection.failures[:10])
    return f"{info.name}\n{detail}", tip
