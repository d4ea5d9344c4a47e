"""The Models page: the catalog's recommended models first, a search of the hub, a repository's
quantizations with their size and fit, the downloads, and the models on this computer.

What ``ember models search|info|get|list`` do from a terminal, in one window. The widget
(:class:`ModelsPage`) only shows and asks (signals); :class:`~ember.ui.models_admin.ModelsAdmin`
runs every hub call, fit estimate and download off the GUI thread and feeds the results back.
Fit labels ("Fits", "Tight", "Won't fit") come from :func:`ember.engines.fit.fit`; a model
whose header could not be read says "fit unknown" rather than guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ember.ui.download_rows import DownloadRows
from ember.ui.fit_screen import fit_to_screen
from ember.ui.model_rows import (
    FIT_STYLES,
    context_text,
    origin_text,
    quant_label,
    size_text,
)
from ember.ui.qt import (
    QAbstractItemView,
    QCheckBox,
    QColor,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSize,
    QSplitter,
    Qt,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
    Signal,
)

if TYPE_CHECKING:
    from ember.catalog import ModelEntry
    from ember.hub.on_disk import FoundModel
    from ember.hub.types import RepoModels, SearchHit

_KEY_ROLE = Qt.ItemDataRole.UserRole  # ("catalog" | "repo", name or repo id)
QUANT_COLUMNS = ("Quantization", "Size", "Fit on this computer")
DISK_COLUMNS = ("Model", "Where it came from", "Size", "State")


@dataclass(frozen=True, slots=True)
class FitShown:
    """A fit label as the page shows it: ``label`` is "fits", "tight", "wont_fit" or "" (not
    known), ``text`` what a person reads, ``reason`` the tooltip (the estimate, or why not)."""

    label: str
    text: str
    reason: str = ""


UNKNOWN_FIT = FitShown("", "fit unknown", "The model's header has not been read.")


class ModelsPage(QDialog):
    """Find, download and choose models; signals say what the person asked."""

    searchRequested = Signal(str)  # a keyword, owner/repo or a model URL
    entryChosen = Signal(str, str)  # ("catalog" | "repo", catalog name or repo id)
    downloadRequested = Signal(str, bool)  # the shown repo's quantization, with its projector
    useRequested = Signal(str)  # the catalog name of a model on this computer
    addFoundRequested = Signal(str)  # the name of a model another app keeps: register, use it

    def __init__(self, colors: dict[str, QColor] | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("ModelsPage")
        self.setWindowTitle("Models")
        self.colors = colors or {}
        self.repo: RepoModels | None = None  # the repository shown on the right
        self.fits: dict[str, FitShown] = {}  # by quantization of the shown repo
        self.catalog_fits: dict[str, FitShown] = {}  # by catalog name
        self._catalog: list[ModelEntry] = []
        self._matching: set[str] | None = None  # a search's catalog repositories (None: all)
        self._hits: list[SearchHit] = []
        self._disk: list[ModelEntry] = []
        self._found: list[FoundModel] = []  # other apps' models, not registered yet
        column = QVBoxLayout(self)

        top = QHBoxLayout()
        self.search_box = QLineEdit(self)
        self.search_box.setPlaceholderText(
            "Search Hugging Face: a keyword, owner/repo, or a model's URL"
        )
        self.search_box.setAccessibleName("Search for models")
        self.search_box.setClearButtonEnabled(True)
        self.search_box.returnPressed.connect(self._search)
        self.search_button = QPushButton("Search", self)
        self.search_button.clicked.connect(self._search)
        top.addWidget(self.search_box, 1)
        top.addWidget(self.search_button)
        column.addLayout(top)
        self.hardware_label = QLabel("Reading this computer's memory…", self)
        self.hardware_label.setObjectName("Muted")
        self.hardware_label.setWordWrap(True)
        column.addWidget(self.hardware_label)

        split = QSplitter(Qt.Orientation.Horizontal, self)
        self.results = QListWidget(split)
        self.results.setAccessibleName("Recommended models and search results")
        self.results.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.results.currentItemChanged.connect(self._result_changed)
        self.results.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.results.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.results.setSpacing(3)
        detail = QWidget(split)
        right = QVBoxLayout(detail)
        right.setContentsMargins(8, 0, 0, 0)
        self.repo_title = QLabel("Choose a model on the left.", detail)
        self.repo_title.setObjectName("SectionTitle")
        self.repo_title.setWordWrap(True)
        self.repo_info = QLabel("", detail)
        self.repo_info.setObjectName("Muted")
        self.repo_info.setWordWrap(True)
        self.repo_info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.quants = QTableWidget(0, len(QUANT_COLUMNS), detail)
        self.quants.setHorizontalHeaderLabels(QUANT_COLUMNS)
        self.quants.setAccessibleName("Quantizations of this model")
        self.quants.verticalHeader().hide()
        self.quants.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.quants.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.quants.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.quants.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for section in (1, 2):  # the header's words fit before any repository is shown
            header.setSectionResizeMode(section, QHeaderView.ResizeMode.ResizeToContents)
        self.quants.itemSelectionChanged.connect(self._quant_changed)
        self.projector_box = QCheckBox("", detail)
        self.projector_box.hide()
        self.download_button = QPushButton("Download", detail)
        self.download_button.setObjectName("Primary")
        self.download_button.setEnabled(False)
        self.download_button.clicked.connect(self._download)
        self.detail_note = QLabel("", detail)
        self.detail_note.setObjectName("Muted")
        self.detail_note.setWordWrap(True)
        for widget in (self.repo_title, self.repo_info):
            right.addWidget(widget)
        right.addWidget(self.quants, 1)
        right.addWidget(self.projector_box)
        buttons = QHBoxLayout()
        buttons.addWidget(self.detail_note, 1)
        buttons.addWidget(self.download_button)
        right.addLayout(buttons)
        split.setStretchFactor(1, 1)
        split.setSizes([380, 520])
        column.addWidget(split, 5)

        self.tabs = QTabWidget(self)
        self.downloads = DownloadRows()
        scroll = QScrollArea(self.tabs)
        scroll.setWidgetResizable(True)
        holder = QWidget()
        holder_column = QVBoxLayout(holder)
        holder_column.addWidget(self.downloads)
        holder_column.addStretch(1)
        scroll.setWidget(holder)
        self.tabs.addTab(scroll, "Downloads")
        disk = QWidget(self.tabs)
        disk_column = QVBoxLayout(disk)
        self.on_disk = QTableWidget(0, len(DISK_COLUMNS), disk)
        self.on_disk.setHorizontalHeaderLabels(DISK_COLUMNS)
        self.on_disk.setAccessibleName("Models on this computer")
        self.on_disk.verticalHeader().hide()
        self.on_disk.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.on_disk.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.on_disk.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.on_disk.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.on_disk.itemSelectionChanged.connect(self._disk_changed)
        self.on_disk.itemDoubleClicked.connect(lambda _item: self._use())
        self.use_button = QPushButton("Use this model", disk)
        self.use_button.setEnabled(False)
        self.use_button.clicked.connect(self._use)
        disk_column.addWidget(self.on_disk, 1)
        use_row = QHBoxLayout()
        self.disk_note = QLabel("", disk)
        self.disk_note.setObjectName("Muted")
        use_row.addWidget(self.disk_note, 1)
        use_row.addWidget(self.use_button)
        disk_column.addLayout(use_row)
        self.tabs.addTab(disk, "On this computer")
        column.addWidget(self.tabs, 2)
        # Repository names, licences, file names and hub errors come from the hub: never markup.
        for label in (
            self.hardware_label,
            self.repo_title,
            self.repo_info,
            self.detail_note,
            self.disk_note,
        ):
            label.setTextFormat(Qt.TextFormat.PlainText)
        self.resize(fit_to_screen(self, QSize(900, 720)))

    # -- the list on the left ------------------------------------------------------------------

    def show_catalog(self, entries: list[ModelEntry]) -> None:
        """The catalog's models, recommended first (as given), each with its fit once known."""
        self._catalog = list(entries)
        self._fill_results()

    def show_catalog_fit(self, name: str, fit: FitShown) -> None:
        self.catalog_fits[name] = fit
        for row in range(self.results.count()):
            item = self.results.item(row)
            if item.data(_KEY_ROLE) == ("catalog", name):
                entry = next(e for e in self._catalog if e.name == name)
                self._catalog_item(item, entry)

    def show_hits(self, hits: list[SearchHit], query: str) -> None:
        """A search's repositories, under the recommended models that match it (all of them for
        an empty query); none found says so."""
        # The catalog's own repositories are listed above, with their fit.
        self._matching = {hit.repo_id for hit in hits if hit.recommended} if query else None
        self._hits = [hit for hit in hits if not hit.recommended]
        self._fill_results(query)

    def _shown_catalog(self) -> list[ModelEntry]:
        if self._matching is None:
            return self._catalog
        from ember.catalog import hub_file

        return [e for e in self._catalog if (hub_file(e) or ("",))[0] in self._matching]

    def _fill_results(self, query: str = "") -> None:
        current = self.results.currentItem()
        wanted = current.data(_KEY_ROLE) if current is not None else None
        self.results.blockSignals(True)
        self.results.clear()
        shown = self._shown_catalog()
        if shown:
            self._heading("RECOMMENDED")
        for entry in shown:
            item = QListWidgetItem()
            item.setData(_KEY_ROLE, ("catalog", entry.name))
            self._catalog_item(item, entry)
            self.results.addItem(item)
        if query or self._hits:
            self._heading(f"ON THE HUB: {query}" if query else "ON THE HUB")
            if not self._hits:
                self._heading("No GGUF models found.")
        for hit in self._hits:
            item = QListWidgetItem()
            item.setData(_KEY_ROLE, ("repo", hit.repo_id))
            extra = ["★ recommended"] if hit.recommended else []
            if hit.downloads:
                extra.append(f"{hit.downloads:,} downloads")
            if hit.gated:
                extra.append("gated: needs a token")
            title = f"{hit.title} ({hit.repo_id})" if hit.title else hit.repo_id
            item.setText(f"{title}\n{' · '.join(extra) or 'GGUF repository'}")
            item.setToolTip(hit.repo_id)
            self.results.addItem(item)
        for row in range(self.results.count()):
            if wanted is not None and self.results.item(row).data(_KEY_ROLE) == wanted:
                self.results.setCurrentRow(row)
        self.results.blockSignals(False)

    def _heading(self, text: str) -> None:
        item = QListWidgetItem(text)
        item.setFlags(Qt.ItemFlag.NoItemFlags)
        font = item.font()
        font.setBold(True)
        item.setFont(font)
        self.results.addItem(item)

    def _catalog_item(self, item: QListWidgetItem, entry: ModelEntry) -> None:
        fit = self.catalog_fits.get(entry.name)
        facts = [x for x in (entry.parameters, entry.quantization) if x]
        if entry.size_bytes:
            facts.append(size_text(entry.size_bytes))
        facts.append("on this computer" if entry.available else (fit or UNKNOWN_FIT).text)
        item.setText(f"{entry.display_name}\n{' · '.join(facts)}")
        tip = (fit or UNKNOWN_FIT).reason if not entry.available else entry.path
        item.setToolTip(f"{entry.display_name}\n{tip}")
        color = self.colors.get(FIT_STYLES.get(fit.label, "")) if fit else None
        if color is not None and not entry.available:
            item.setForeground(color)

    def result_keys(self) -> list[tuple[str, str]]:
        """What the list shows, in order (headings left out)."""
        keys = [self.results.item(r).data(_KEY_ROLE) for r in range(self.results.count())]
        return [tuple(k) for k in keys if k]

    def choose(self, kind: str, key: str) -> None:
        """Select the row of ``(kind, key)`` (it opens its details)."""
        for row in range(self.results.count()):
            if self.results.item(row).data(_KEY_ROLE) == (kind, key):
                self.results.setCurrentRow(row)
                return

    def _result_changed(self, current: QListWidgetItem | None, _previous: object) -> None:
        if current is not None and current.data(_KEY_ROLE):
            kind, key = current.data(_KEY_ROLE)
            self.entryChosen.emit(kind, key)

    def _search(self) -> None:
        text = self.search_box.text().strip()
        if text:
            self.searchRequested.emit(text)
        else:  # an empty search: the recommended models again
            self.show_hits([], "")

    # -- the repository on the right -----------------------------------------------------------

    def show_detail_note(self, title: str, text: str) -> None:
        """Nothing to download shown: a title and why (reading, an error, a catalog model
        whose repository the hub cannot show)."""
        self.repo = None
        self.fits = {}
        self.repo_title.setText(title)
        self.repo_info.setText("")
        self.quants.setRowCount(0)
        self.projector_box.hide()
        self.download_button.setEnabled(False)
        self.detail_note.setText(text)

    def show_repo(self, repo: RepoModels, preferred: str = "") -> None:
        """A repository's quantizations, smallest first; ``preferred`` (else the repo's
        default) selected."""
        self.repo = repo
        self.repo_title.setText(repo.repo_id)
        self.show_facts(repo)
        self.quants.setRowCount(len(repo.quants))
        wanted = (preferred or repo.default_quant).upper()
        chosen = 0
        for row, quant in enumerate(repo.quants):
            label = QTableWidgetItem(quant_label(quant.quantization, len(quant.files)))
            label.setToolTip("\n".join(f.filename for f in quant.files))
            self.quants.setItem(row, 0, label)
            self.quants.setItem(row, 1, QTableWidgetItem(size_text(quant.size_bytes)))
            self.quants.setItem(row, 2, QTableWidgetItem(""))
            self._fit_cell(row)
            if quant.quantization.upper() == wanted:
                chosen = row
        if repo.projectors:
            projector = repo.projectors[0]
            self.projector_box.setText(
                f"Also download the vision projector ({projector.filename}, "
                f"{size_text(projector.size_bytes)}): lets the model read images"
            )
            self.projector_box.setChecked(True)
            self.projector_box.show()
        else:
            self.projector_box.hide()
        self.detail_note.setText("" if repo.quants else "This repository has no GGUF files.")
        if repo.quants:
            self.quants.selectRow(chosen)
        self._quant_changed()

    def show_facts(self, repo: RepoModels) -> None:
        """The shown repository's licence, context length, architecture, gating (a header
        read later fills in the context length)."""
        if self.repo is not None and self.repo.repo_id == repo.repo_id:
            self.repo = repo
        facts = [f"licence: {repo.license or 'not stated'}"]
        facts.append(f"context: {context_text(repo.n_ctx_train)}")
        if repo.architecture:
            facts.append(repo.architecture)
        if repo.gated:
            facts.append("gated: set HF_TOKEN to a token that has accepted its terms")
        self.repo_info.setText(" · ".join(facts))

    def show_fit(self, quantization: str, fit: FitShown) -> None:
        """The fit of the shown repo's ``quantization``."""
        self.fits[quantization] = fit
        if self.repo is None:
            return
        for row, quant in enumerate(self.repo.quants):
            if quant.quantization == quantization:
                self._fit_cell(row)

    def _fit_cell(self, row: int) -> None:
        assert self.repo is not None
        fit = self.fits.get(self.repo.quants[row].quantization)
        item = self.quants.item(row, 2)
        item.setText(fit.text if fit else "estimating…")
        item.setToolTip(fit.reason if fit else "Reading the model's header to estimate its memory")
        color = self.colors.get(FIT_STYLES.get(fit.label, "")) if fit else None
        if color is not None:
            item.setForeground(color)

    def selected_quant(self) -> str | None:
        """The quantization selected in the table (None: none)."""
        rows = self.quants.selectionModel().selectedRows()
        if self.repo is None or not rows:
            return None
        return self.repo.quants[rows[0].row()].quantization

    def _quant_changed(self) -> None:
        self.download_button.setEnabled(self.selected_quant() is not None)

    def _download(self) -> None:
        quant = self.selected_quant()
        if quant is not None:
            with_projector = self.projector_box.isVisible() and self.projector_box.isChecked()
            self.downloadRequested.emit(quant, with_projector)

    # -- models on this computer ---------------------------------------------------------------

    def show_on_disk(
        self, entries: list[ModelEntry], found: list[FoundModel] | None = None
    ) -> None:
        """The models on this computer (and those registered whose file has gone: "missing"),
        then the models other apps keep that are not added yet (``found``; unchanged if None)."""
        self._disk = list(entries)
        if found is not None:
            self._found = [f for f in found if not f.registered]
        self.on_disk.setRowCount(len(entries) + len(self._found))
        for row, entry in enumerate(entries):
            name = QTableWidgetItem(entry.display_name or entry.name)
            inside = f"\nIts file calls it {entry.gguf_name}" if entry.gguf_name else ""
            name.setToolTip((entry.path or entry.source) + inside)
            self.on_disk.setItem(row, 0, name)
            self.on_disk.setItem(row, 1, QTableWidgetItem(origin_text(entry)))
            self.on_disk.setItem(row, 2, QTableWidgetItem(size_text(entry.size_bytes)))
            state = QTableWidgetItem("ready" if entry.available else "missing")
            if not entry.available:
                state.setToolTip(
                    f"{entry.path or entry.file} is no longer there (moved or deleted)"
                )
                color = self.colors.get("FitBad")
                if color is not None:
                    state.setForeground(color)
            self.on_disk.setItem(row, 3, state)
        for row, model in enumerate(self._found, start=len(entries)):
            name = QTableWidgetItem(model.label)
            name.setToolTip(str(model.path))
            self.on_disk.setItem(row, 0, name)
            self.on_disk.setItem(row, 1, QTableWidgetItem(f"in {model.origin_text}"))
            self.on_disk.setItem(row, 2, QTableWidgetItem(size_text(model.size_bytes)))
            state = QTableWidgetItem("cannot be used" if model.problem else "not added yet")
            state.setToolTip(model.problem or "Used in place, not copied")
            self.on_disk.setItem(row, 3, state)
        for column in (1, 2, 3):
            self.on_disk.resizeColumnToContents(column)
        self._disk_changed()

    def on_disk_names(self) -> list[tuple[str, str]]:
        """``(catalog name, "ready" | "missing")`` of each row, in order."""
        rows = [(e.name, "ready" if e.available else "missing") for e in self._disk]
        return rows + [(f.name, "found") for f in self._found]

    def select_on_disk(self, name: str) -> None:
        names = [e.name for e in self._disk] + [f.name for f in self._found]
        if name in names:
            self.on_disk.selectRow(names.index(name))

    def _selected_disk(self) -> ModelEntry | FoundModel | None:
        rows = self.on_disk.selectionModel().selectedRows()
        if not rows:
            return None
        row = rows[0].row()
        return self._disk[row] if row < len(self._disk) else self._found[row - len(self._disk)]

    def _disk_changed(self) -> None:
        entry = self._selected_disk()
        if entry is None:
            self.use_button.setEnabled(False)
            self.disk_note.setText("")
        elif hasattr(entry, "available"):
            self.use_button.setEnabled(entry.available)
            self.disk_note.setText(
                "" if entry.available else "Its file is missing: download it again or remove it."
            )
        else:
            self.use_button.setEnabled(not entry.problem)
            self.disk_note.setText(
                entry.problem or f"Used where {entry.origin_text} keeps it, without a copy."
            )

    def _use(self) -> None:
        entry = self._selected_disk()
        if entry is None:
            return
        if hasattr(entry, "available"):
            if entry.available:
                self.useRequested.emit(entry.name)
        elif not entry.problem:
            self.addFoundRequested.emit(entry.name)
