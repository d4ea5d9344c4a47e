"""Search your documents from the window: what ``ember search`` lists, one Enter from the source
viewer.

:class:`DocumentSearchDialog` (Ctrl+Shift+F, or + Add → Search documents…) takes words or a
question and a collection (or all of them), runs :meth:`~ember.core.Core.search` in a worker
(in the retrieval helper process: the window never waits on it, and torch never loads in its
process) and lists the passages best first, as ``ember search`` prints them: the file's name,
its page and heading, then a snippet, all plain text. Enter, a double-click or "Open passage"
opens the chosen passage in the source viewer at its page, highlighted: the result becomes the
same :class:`~ember.knowledge.types.Citation` an answer makes
(:func:`~ember.knowledge.grounding.cite_hit`). The dialog then steps aside; opening it again
finds the same query, results and row, so the next passage is one Down key away.

Errors go through :mod:`ember.ui.message`; files changed or deleted since indexing are left out
of the results and named under them (as ``ember search`` does).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ember.files import shown_path
from ember.ui import message
from ember.ui.accessibility import name, name_popups
from ember.ui.fit_screen import show_in_front
from ember.ui.qt import (
    QAbstractItemView,
    QAction,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    Qt,
    QVBoxLayout,
)

if TYPE_CHECKING:
    from ember.core import Core
    from ember.knowledge.types import Citation

TOP_K = 10  # passages listed per search
SNIPPET_CHARS = 300  # of each passage's text, whitespace collapsed (``ember search`` shows 300)
ALL = "All documents"
NO_MATCHES = "No matches in your indexed documents."
NOTHING_INDEXED = "Nothing is indexed yet: + Add → Add files… or Add folder… first."


@dataclass(frozen=True, slots=True)
class Found:
    """One passage as listed: where it is ("notes.md · p. 3 · Storage") and a snippet of its
    text, with the citation that opens it in the source viewer."""

    where: str
    text: str
    citation: Citation

    def line(self, number: int) -> str:
        """The list's text for it, ``ember search``'s two lines: "1. where" and the snippet."""
        return f"{number}. {self.where}\n{self.text}"


@dataclass(frozen=True, slots=True)
class Searched:
    """The passages found for ``query``, best first, and a sentence naming the files left out
    because they changed or went since indexing ("" when none did)."""

    query: str
    found: tuple[Found, ...]
    stale: str = ""


def search_documents(
    core: Core, query: str, collections: list[str] | None, top_k: int = TOP_K
) -> Searched:
    """*worker* The best ``top_k`` passages for ``query`` in ``collections`` (every collection
    when None) as listed and cited. Raises what :meth:`Core.search` raises (``EmberError``s)."""
    from ember.knowledge.freshness import stale_note
    from ember.knowledge.grounding import cite_hit, snippet

    result = core.search(query, collections, top_k)
    found = []
    for number, hit in enumerate(result.hits, start=1):
        citation = cite_hit(hit, number)
        where = [shown_path(Path(hit.source).name)]
        page = citation.page_text()
        if page:
            where.append(page)
        if hit.heading:
            where.append(hit.heading)
        found.append(Found(" · ".join(where), snippet(hit.text, SNIPPET_CHARS), citation))
    return Searched(query, tuple(found), stale_note(result.stale))


class DocumentSearchDialog(QDialog):
    """The search field, the collection to search and the passages found (see the module).
    ``searching`` is True while a search runs; ``searched`` is the last one shown."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.main = window  # the MainWindow: its core, tasks, collections and source viewer
        self.setObjectName("DocumentSearch")
        self.setWindowTitle("Search your documents")
        self.searching = False
        self.searched: Searched | None = None
        self._serial = 0  # the newest search: an older one's answer is not shown
        layout = QVBoxLayout(self)

        row = QHBoxLayout()
        self.query = QLineEdit(self)
        self.query.setObjectName("DocumentSearchQuery")
        self.query.setPlaceholderText("Words or a question…")
        self.query.setClearButtonEnabled(True)
        name(self.query, "Search your documents", "Enter searches")
        self.query.returnPressed.connect(self.search)
        row.addWidget(self.query, 1)
        self.scope = QComboBox(self)
        self.scope.setObjectName("DocumentSearchScope")
        name(self.scope, "Search in")
        self.scope.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        row.addWidget(self.scope)
        self.search_button = QPushButton("Search", self)
        self.search_button.clicked.connect(self.search)
        row.addWidget(self.search_button)
        layout.addLayout(row)

        self.status = QLabel("", self)
        self.status.setObjectName("DocumentSearchStatus")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.status)

        self.results = QListWidget(self)
        self.results.setObjectName("DocumentSearchResults")
        name(self.results, "Passages found", "Enter opens the passage in the source viewer")
        self.results.setWordWrap(True)
        self.results.setAlternatingRowColors(True)
        self.results.setSpacing(3)
        self.results.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.results.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.results.itemActivated.connect(lambda _item: self.open_current())
        self.results.currentRowChanged.connect(lambda _row: self._update_open())
        layout.addWidget(self.results, 1)

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.open_button = QPushButton("Open passage", self)
        name(self.open_button, "Open passage", "Open the chosen passage in the source viewer")
        self.open_button.clicked.connect(self.open_current)
        buttons.addWidget(self.open_button)
        self.close_button = QPushButton("Close", self)
        self.close_button.clicked.connect(self.reject)
        buttons.addWidget(self.close_button)
        layout.addLayout(buttons)
        for button in (self.search_button, self.open_button, self.close_button):
            # Enter belongs to the field (search) and the list (open), never to a button.
            button.setAutoDefault(False)
            button.setDefault(False)
        self.setTabOrder(self.query, self.scope)
        self.setTabOrder(self.scope, self.search_button)
        self.setTabOrder(self.search_button, self.results)
        self.setTabOrder(self.results, self.open_button)
        self.setTabOrder(self.open_button, self.close_button)
        self.resize(640, 480)
        self._update_open()

    # -- opening ------------------------------------------------------------------------------

    def open_for(self, collection: str | None = None) -> DocumentSearchDialog:
        """Show the dialog with the window's collections to choose from (``collection`` chosen
        when given, else the last choice), the focus in the search field."""
        chosen = collection or self.scope.currentText() or ALL
        names = [c.name for c in self.main.collection_infos if c.info.chunks > 0]
        self.scope.clear()
        self.scope.addItems([ALL, *names])
        self.scope.setCurrentIndex(max(0, self.scope.findText(chosen)))
        name_popups(self.scope)
        if not names and self.searched is None:
            self.status.setText(NOTHING_INDEXED)
        show_in_front(self)
        if self.results.count() and self.searched and self.searched.query == self.query.text():
            self.results.setFocus(Qt.FocusReason.OtherFocusReason)  # back where it was
        else:
            self.query.setFocus(Qt.FocusReason.OtherFocusReason)
            self.query.selectAll()
        return self

    # -- searching ----------------------------------------------------------------------------

    def collections(self) -> list[str] | None:
        """The chosen collection, or None for every one."""
        chosen = self.scope.currentText()
        return None if not chosen or chosen == ALL else [chosen]

    def search(self) -> None:
        """Search for the field's text in the chosen collections, in a worker."""
        query = self.query.text().strip()
        if not query:
            self.status.setText("Type some words or a question to search for.")
            return
        self._serial += 1
        serial = self._serial
        self.searching = True
        self.status.setText("Searching…")
        message.info("Searching your documents…", 0)
        core, collections = self.main.core, self.collections()
        self.main.tasks.run_background(
            "search documents",
            lambda _report: search_documents(core, query, collections),
            on_done=lambda searched: self._shown(serial, searched),
            on_error=lambda error: self._failed(serial, error),
        )

    def _shown(self, serial: int, searched: Searched) -> None:
        if serial != self._serial:
            return  # a newer search is on its way
        self.searching = False
        message.clear()
        self.searched = searched
        self.results.clear()
        for number, found in enumerate(searched.found, start=1):
            item = QListWidgetItem(found.line(number))
            item.setToolTip(shown_path(found.citation.source))
            self.results.addItem(item)
        count = len(searched.found)
        said = (
            f"{count} passage{'' if count == 1 else 's'}, best first. Enter opens one."
            if count
            else NO_MATCHES
        )
        self.status.setText(f"{said} {searched.stale}".strip())
        if count:
            self.results.setCurrentRow(0)
            if self.query.hasFocus():
                self.results.setFocus(Qt.FocusReason.OtherFocusReason)
        self._update_open()

    def _failed(self, serial: int, error: BaseException) -> None:
        if serial != self._serial:
            return
        self.searching = False
        message.clear()
        self.status.setText("The search failed.")
        message.error("Could not search your documents", str(error))

    # -- results ------------------------------------------------------------------------------

    def _update_open(self) -> None:
        self.open_button.setEnabled(self.results.currentRow() >= 0)

    def open_current(self) -> None:
        """Open the current passage in the source viewer, highlighted; the dialog steps aside."""
        row = self.results.currentRow()
        if self.searched is None or not 0 <= row < len(self.searched.found):
            return
        citation = self.searched.found[row].citation
        self.hide()
        self.main.activateWindow()
        self.main.show_citation(citation)


def open_search(window: Any, collection: str | None = None) -> DocumentSearchDialog:
    """Open ``window``'s document search (made on first use, then kept with its results)."""
    dialog = window.findChild(DocumentSearchDialog, "DocumentSearch")
    if dialog is None:
        dialog = DocumentSearchDialog(window)
    return dialog.open_for(collection)


def install(window: Any) -> None:
    """Offer the search in the sidebar's "+ Add" menu and on each collection's right-click menu
    (its shortcut is in :data:`~ember.ui.shortcuts.SHORTCUTS`)."""
    menu = window.sidebar.add_docs.menu()
    action = QAction("Search documents…", menu)
    action.triggered.connect(lambda: open_search(window))
    manage = [a for a in menu.actions() if a.text().startswith("Manage documents")]
    menu.insertAction(manage[0] if manage else None, action)  # before it, else last
    window.sidebar.searchCollectionRequested.connect(lambda name: open_search(window, name))
