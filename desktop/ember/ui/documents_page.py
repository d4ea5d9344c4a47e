"""The documents page: each collection's files with their state, and what can be done to them.

What ``ember docs`` does from a terminal (list, remove, re-index, rename), with the reason for
every file that failed or was skipped, where each indexed file's text came from (its text layer,
or OCR with its mean confidence), and a watch on the collection's folders. The widget
(:class:`DocumentsPage`) only shows and asks; :class:`DocumentsAdmin` runs every read and write
on the knowledge worker and keeps writes off while an indexing run is active.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ember.files import shown_path
from ember.ui.accessibility import name_popups
from ember.ui.fit_screen import fit_to_screen
from ember.ui.qt import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDesktopServices,
    QDialog,
    QDialogButtonBox,
    QEvent,
    QHBoxLayout,
    QHeaderView,
    QKeyEvent,
    QLabel,
    QLineEdit,
    QObject,
    QPushButton,
    QSize,
    Qt,
    QTableWidget,
    QTableWidgetItem,
    QUrl,
    QVBoxLayout,
    QWidget,
    Signal,
)
from ember.ui.sidebar import age_text

if TYPE_CHECKING:
    from ember.knowledge.listing import DocumentRow

STATE_LABELS = {
    "done": "indexed",
    "failed": "failed",
    "skipped": "skipped",
    "pending": "unfinished",
    "deleted": "deleted",
    "changed": "changed",
    "unavailable": "unavailable",
}
COLUMNS = ("File", "State", "Passages", "Pages", "Text from", "Last indexed", "Reason")
_PATH_ROLE = Qt.ItemDataRole.UserRole
# Starting widths in pixels (each column can be resized; Reason takes what is left). The file
# column grows to its longest name up to FILE_MAX_PX; names are cut in the middle beyond it.
WIDTHS = (240, 90, 70, 55, 110, 110)
FILE_MAX_PX = 320


def count_text(rows: tuple[DocumentRow, ...]) -> str:
    """``9 files: 7 indexed, 1 failed, 1 skipped · 1,104 passages searchable``: every listed
    file, those finished (the sidebar's count, searchable) and the others by state, and the
    passages of the finished ones."""
    indexed = sum(r.record.state == "done" and not r.record.skipped for r in rows)
    parts = [f"{indexed:,} indexed"]
    for state, word in (("failed", "failed"), ("skipped", "skipped"), ("pending", "unfinished")):
        count = sum(r.state == state for r in rows)
        if count:
            parts.append(f"{count:,} {word}")
    stale = sum(r.state in ("deleted", "changed", "unavailable") for r in rows)
    if stale:
        parts.append(f"{stale:,} changed or missing since")
    passages = sum(r.passages for r in rows if r.record.state == "done" and not r.record.skipped)
    files = f"{len(rows):,} file{'' if len(rows) == 1 else 's'}"
    return f"{files}: {', '.join(parts)} · {passages:,} passages searchable"


def source_text(row: DocumentRow) -> str:
    """Where an indexed file's text came from, in a few words: "text layer", "OCR 0.93" (mean
    confidence), "text + OCR 0.91" (some pages OCR'd), "OCR: none found"; "—" when not known
    (failed, skipped, or indexed before Ember kept it). The whole story is :attr:`DocumentRow.
    source`, the cell's tooltip."""
    source = row.record.text_source
    if source is None or row.record.state == "failed":
        return "—"
    if not source.ocr_pages:
        return "text layer"
    read = "none found" if source.ocr_confidence is None else f"{source.ocr_confidence:.2f}"
    whole = row.record.page_count is None or source.ocr_pages >= row.record.page_count
    return f"OCR {read}" if whole and source.method == "ocr" else f"text + OCR {read}"


def indexed_when(timestamp: float | None, now: float | None = None) -> str:
    """When a file was last indexed, as a person says it ("just now", "12 min ago", "3 h ago",
    "4 Mar 2026 14:05"); "—" when it never was."""
    if timestamp is None:
        return "—"
    return age_text(timestamp, now, dated="%d %b %Y %H:%M")


@dataclass(frozen=True, slots=True)
class PageData:
    """What the page shows of one collection: every collection's name, its documents, and the
    folders it watches (absolute paths; none when it does not)."""

    names: tuple[str, ...]
    collection: str
    rows: tuple[DocumentRow, ...]
    watched: tuple[str, ...]


class DocumentsPage(QDialog):
    """Collections, their files and the actions on them; signals say what the person asked."""

    collectionChosen = Signal(str)
    removeFileRequested = Signal(str)  # path
    reindexFileRequested = Signal(str)  # path
    openFolderRequested = Signal(str)  # path of the file whose folder to open
    removeCollectionRequested = Signal()
    renameRequested = Signal()
    reindexAllRequested = Signal()
    watchToggled = Signal(bool)
    importGpt4allRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("DocumentsPage")
        self.setWindowTitle("Documents")
        self.data: PageData | None = None
        self._summary = ""  # what the summary line says of the data shown
        layout = QVBoxLayout(self)

        top = QHBoxLayout()
        label = QLabel("&Collection:", self)
        self.chooser = QComboBox(self)
        self.chooser.setMinimumContentsLength(18)
        label.setBuddy(self.chooser)
        self.chooser.activated.connect(
            lambda i: self.collectionChosen.emit(self.chooser.itemText(i))
        )
        top.addWidget(label)
        top.addWidget(self.chooser, 1)
        self.rename_button = QPushButton("Rename…", self)
        self.rename_button.clicked.connect(self.renameRequested.emit)
        self.remove_collection_button = QPushButton("Remove collection…", self)
        self.remove_collection_button.clicked.connect(self.removeCollectionRequested.emit)
        self.reindex_all_button = QPushButton("Re-index all", self)
        self.reindex_all_button.setToolTip("Read and embed every file of this collection again")
        self.reindex_all_button.clicked.connect(self.reindexAllRequested.emit)
        self.watch_box = QCheckBox("Watch folders", self)
        self.watch_box.clicked.connect(
            lambda *_: self.watchToggled.emit(self.watch_box.isChecked())
        )
        top.addWidget(self.watch_box)
        layout.addLayout(top)
        # The collection's actions on a row of their own: the page fits a small screen at a
        # large system font.
        actions = QHBoxLayout()
        for widget in (self.rename_button, self.reindex_all_button, self.remove_collection_button):
            actions.addWidget(widget)
        actions.addStretch(1)
        self.import_button = QPushButton("Import from GPT4All…", self)
        self.import_button.clicked.connect(self.importGpt4allRequested.emit)
        actions.addWidget(self.import_button)
        layout.addLayout(actions)

        self.summary = QLabel("", self)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)  # names and paths are not markup
        self.summary.setObjectName("Muted")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)

        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)  # drag to resize
        header.setStretchLastSection(True)  # Reason takes the spare width
        for column, width in enumerate(WIDTHS):
            self.table.setColumnWidth(column, width)
        self.table.setTabKeyNavigation(False)  # Tab leaves the table for the buttons
        self.table.setAccessibleName("Files of the collection")
        self.table.setAccessibleDescription("Delete removes the selected file")
        self.table.itemSelectionChanged.connect(self._update_file_buttons)
        layout.addWidget(self.table, 1)
        self.table.installEventFilter(self)  # Delete removes the selected file (after asking)

        bottom = QHBoxLayout()
        self.remove_file_button = QPushButton("Remove file…", self)
        self.remove_file_button.setToolTip("Forget the selected file (Delete)")
        self.remove_file_button.clicked.connect(self._remove_selected)
        self.reindex_file_button = QPushButton("Re-index file", self)
        self.reindex_file_button.clicked.connect(
            lambda: self._with_selected(self.reindexFileRequested.emit)
        )
        self.open_folder_button = QPushButton("Open folder", self)
        self.open_folder_button.clicked.connect(
            lambda: self._with_selected(self.openFolderRequested.emit)
        )
        close = QPushButton("Close", self)
        close.clicked.connect(self.close)
        for widget in (self.remove_file_button, self.reindex_file_button, self.open_folder_button):
            bottom.addWidget(widget)
        bottom.addStretch(1)
        bottom.addWidget(close)
        layout.addLayout(bottom)
        self.busy_reason = ""
        self._tips = {w: w.toolTip() for w in self._write_widgets()}
        self._update_file_buttons()
        name_popups(self)
        fit_to_screen(self, QSize(900, 520))

    # -- showing -------------------------------------------------------------------------------

    def show_data(self, data: PageData) -> None:
        """Fill the page with one collection (keeps the selected file when it is still there)."""
        selected = self.selected_path()
        new_collection = self.data is None or self.data.collection != data.collection
        self.data = data
        self.chooser.blockSignals(True)
        self.chooser.clear()
        self.chooser.addItems(list(data.names))
        self.chooser.setCurrentText(data.collection)
        self.chooser.blockSignals(False)
        self.table.clearSelection()
        self.table.setRowCount(len(data.rows))
        for row_number, row in enumerate(data.rows):
            shown = shown_path(row.path)
            name = QTableWidgetItem(os.path.basename(row.path))
            name.setToolTip(shown)  # the folder too
            name.setData(_PATH_ROLE, row.path)
            searchable = row.record.state == "done" and not row.record.skipped
            passages = QTableWidgetItem(f"{row.passages:,}" if searchable else "—")
            if row.state == "pending":
                passages.setToolTip(
                    f"{row.passages:,} passages found; none searchable until indexing "
                    "finishes this file"
                )
            cells = (
                name,
                QTableWidgetItem(STATE_LABELS.get(row.state, row.state)),
                passages,
                QTableWidgetItem(str(row.pages) if row.pages else "—"),
                QTableWidgetItem(source_text(row)),
                QTableWidgetItem(indexed_when(row.record.indexed_at)),
                QTableWidgetItem(row.reason),
            )
            cells[4].setToolTip(row.source)  # "OCR'd 12 pages, mean confidence 0.93"
            cells[6].setToolTip(row.reason)  # whole, when the column is too narrow
            for column, cell in enumerate(cells):
                self.table.setItem(row_number, column, cell)
            if row.path == selected:
                self.table.selectRow(row_number)
        if new_collection and data.rows:  # fit its names, not undoing a resize by hand later
            self.table.resizeColumnToContents(0)
            width = self.table.columnWidth(0)
            self.table.setColumnWidth(0, min(FILE_MAX_PX, max(WIDTHS[0], width)))
        parts = [count_text(data.rows)]
        if any(r.state != "done" for r in data.rows):
            parts.append("see State and Reason")
        if data.watched:
            parts.append("watching " + ", ".join(shown_path(f) for f in data.watched))
        if not data.names:
            parts = ["No documents yet: add files or a folder from the sidebar's “+ Add”."]
        self._summary = " · ".join(parts)
        self.summary.setText(self._summary)
        self.chooser.setEnabled(True)
        self.watch_box.setChecked(bool(data.watched))
        self._tips[self.watch_box] = (
            "Re-index when files change in: " + ", ".join(shown_path(f) for f in data.watched)
            if data.watched
            else "Re-index this collection's folders when their files change (while Ember runs)"
        )
        self._update_file_buttons()

    def show_waiting(self, collection: str) -> None:
        """An indexing run of ``collection`` holds the documents: keep what is shown (nothing
        yet, or the last list) and say the list updates when it finishes; the collection
        chooser waits too."""
        note = f"The list updates when indexing “{collection}” finishes."
        self.summary.setText(f"{self._summary} · {note}" if self.data is not None else note)
        self.chooser.setEnabled(False)

    def set_busy(self, reason: str) -> None:
        """Turn the actions that write off, saying why (""): they wait for indexing to end."""
        self.busy_reason = reason
        self._update_file_buttons()

    def _write_widgets(self) -> tuple[QWidget, ...]:
        return (
            self.rename_button,
            self.remove_collection_button,
            self.reindex_all_button,
            self.watch_box,
            self.remove_file_button,
            self.reindex_file_button,
        )

    def _update_file_buttons(self) -> None:
        has_collection = bool(self.data and self.data.names)
        has_file = self.selected_path() is not None
        for widget, needs_file, writes in (
            (self.rename_button, False, True),
            (self.remove_collection_button, False, True),
            (self.reindex_all_button, False, True),
            (self.watch_box, False, True),
            (self.remove_file_button, True, True),
            (self.reindex_file_button, True, True),
            (self.open_folder_button, True, False),
        ):
            enabled = has_collection and (has_file or not needs_file)
            blocked = writes and bool(self.busy_reason)
            widget.setEnabled(enabled and not blocked)
            if writes:
                widget.setToolTip(self.busy_reason if blocked else self._tips.get(widget, ""))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self.table
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Delete
        ):
            self._remove_selected()
            return True
        return super().eventFilter(watched, event)

    # -- what is selected ----------------------------------------------------------------------

    def selected_path(self) -> str | None:
        """The absolute path of the selected file, or None."""
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows:
            return None
        item = self.table.item(rows[0].row(), 0)
        return None if item is None else str(item.data(_PATH_ROLE))

    def select_path(self, path: str) -> bool:
        """Select the row of ``path``; False when it is not listed."""
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if item is not None and item.data(_PATH_ROLE) == path:
                self.table.selectRow(row)
                self.table.setCurrentCell(row, 0)
                return True
        return False

    def _with_selected(self, emit: object) -> None:
        path = self.selected_path()
        if path is not None and callable(emit):
            emit(path)

    def _remove_selected(self) -> None:
        if self.busy_reason:
            return
        self._with_selected(self.removeFileRequested.emit)


def open_folder_of(path: str) -> str:
    """Open the folder holding ``path`` in the file manager; "" when it opened, else why not."""
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        return (
            f"The folder {shown_path(folder)} is not there any more (moved, or on a drive "
            "that is not plugged in)."
        )
    if not QDesktopServices.openUrl(QUrl.fromLocalFile(folder)):
        return (
            f"Could not open {shown_path(folder)}: no file manager answered. Open it yourself, "
            "or install a file manager."
        )
    return ""


def rename_problem(new: str, old: str, names: tuple[str, ...]) -> str:
    """Why ``new`` cannot be ``old``'s new name ("" when it can): empty, unchanged, taken,
    too long or with control characters."""
    if not new:
        return "Type a name."
    if new == old:
        return "That is its name already."
    if new in names:
        return f"A collection called “{new}” exists already."
    if len(new) > 200 or any(ord(c) < 32 for c in new):
        return "Use at most 200 printable characters."
    return ""


class RenameDialog(QDialog):
    """A new name for a collection; OK only while the name is one it can take."""

    def __init__(self, old: str, names: tuple[str, ...], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("RenameCollectionDialog")
        self.setWindowTitle("Rename collection")
        self._old, self._names = old, names
        layout = QVBoxLayout(self)
        prompt = QLabel(f"New name for “{old}”:", self)
        prompt.setTextFormat(Qt.TextFormat.PlainText)  # a name is not markup
        layout.addWidget(prompt)
        self.edit = QLineEdit(old, self)
        self.edit.selectAll()
        self.edit.setAccessibleName("New name")
        layout.addWidget(self.edit)
        self.problem = QLabel("", self)
        self.problem.setObjectName("Error")
        layout.addWidget(self.problem)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Rename")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.edit.textChanged.connect(self._check)
        self._check()

    def name(self) -> str:
        """The name typed, with runs of spaces made one and none at the ends."""
        return " ".join(self.edit.text().split())

    def _check(self) -> None:
        problem = rename_problem(self.name(), self._old, self._names)
        self.problem.setText(problem if self.edit.text() != self._old else "")
        self.ok.setEnabled(not problem)

    def accept(self) -> None:
        if not rename_problem(self.name(), self._old, self._names):
            super().accept()
