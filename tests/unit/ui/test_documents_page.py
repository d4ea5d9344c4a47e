"""The documents page's widget and the sidebar's "+ Add": what they show and what they ask for."""

from __future__ import annotations

import time
from dataclasses import replace

from ember.knowledge.listing import DocumentRow
from ember.knowledge.store import DocumentRecord
from ember.knowledge.types import TEXT_LAYER, TextSource
from ember.ui.documents_page import (
    COLUMNS,
    DocumentsPage,
    PageData,
    RenameDialog,
    indexed_when,
    open_folder_of,
    rename_problem,
)
from ember.ui.fit_screen import SCREEN_MARGIN
from ember.ui.qt import Qt
from ember.ui.sidebar import Sidebar

LONG = "/home/someone/" + "very-long-folder-name/" * 8 + "manual.pdf"


def _row(
    path: str,
    state: str,
    reason: str = "",
    chunks: int = 0,
    pages: int = 0,
    source: TextSource | None = None,
    page_count: int | None = None,
) -> DocumentRow:
    record = DocumentRecord(
        id=abs(hash(path)) % 10_000,
        collection="manuals",
        path=path,
        kind="pdf",
        encoding=None,
        title=None,
        size=10,
        mtime_ns=1,
        content_hash=None,
        state="done" if state == "done" else "failed",
        error=reason or None,
        chunk_count=chunks,
        indexed_at=time.time() - 7200,
        skipped=state == "skipped",
        page_count=page_count,
        text_source=source,
    )
    return DocumentRow(record, state, reason, pages)


def _page(qtbot) -> DocumentsPage:  # type: ignore[no-untyped-def]
    page = DocumentsPage()
    qtbot.addWidget(page)
    rows = (
        _row(LONG, "done", chunks=12, pages=4, source=TextSource("ocr", 4, 0.93), page_count=4),
        _row("/docs/broken.pdf", "failed", "not a PDF: the file is damaged"),
        _row("/docs/blob.bin", "skipped", "unsupported file type '.bin'"),
    )
    page.show_data(PageData(("manuals", "notes"), "manuals", rows, ("/docs",)))
    return page


def test_each_file_shows_state_passages_pages_time_and_reason(qtbot) -> None:
    page = _page(qtbot)
    cells = [
        [page.table.item(r, c).text() for c in range(page.table.columnCount())] for r in range(3)
    ]
    assert cells[0] == ["manual.pdf", "indexed", "12", "4", "OCR 0.93", "2 h ago", ""]
    assert cells[1][1:] == ["failed", "—", "—", "—", "2 h ago", "not a PDF: the file is damaged"]
    assert cells[2][1] == "skipped" and cells[2][6] == "unsupported file type '.bin'"
    assert page.table.item(0, 0).toolTip() == LONG  # the name in the table, the folder on hover
    assert page.table.item(1, 6).toolTip() == "not a PDF: the file is damaged"
    assert page.chooser.currentText() == "manuals" and page.watch_box.isChecked()
    # Every file, then those the sidebar counts (searchable) and the others by state.
    assert page.summary.text().startswith(
        "3 files: 1 indexed, 1 failed, 1 skipped · 12 passages searchable"
    )
    assert "watching /docs" in page.summary.text()


def test_names_and_reasons_are_not_clipped_at_the_default_size_and_columns_resize(qtbot) -> None:
    page = DocumentsPage()
    qtbot.addWidget(page)
    readme = "/tmp/trial/docs/Manuals/usr-share-files-README.FHS.txt"
    reason = "damaged PDF: could not read its structure"
    rows = (
        _row(readme, "done", chunks=30),
        _row("/tmp/trial/docs/broken.pdf", "failed", reason),
    )
    page.show_data(PageData(("manuals",), "manuals", rows, ()))
    page.show()
    qtbot.waitExposed(page)
    free = page.screen().availableGeometry()  # the page opens at 900 px where the screen has room
    assert page.width() == min(900, free.width() - SCREEN_MARGIN)
    page.resize(900, 520)  # (the offscreen screen is 800 px wide: as on a larger one)
    table, metrics = page.table, page.table.fontMetrics()
    padding = 16  # the cell's margins
    for row, column in ((0, 0), (1, 5)):
        text = table.item(row, column).text()
        assert metrics.horizontalAdvance(text) + padding <= table.columnWidth(column), text
    header = table.horizontalHeader()
    assert all(header.sectionResizeMode(c) == header.ResizeMode.Interactive for c in range(5))
    assert header.stretchLastSection()


def test_an_unfinished_file_has_no_searchable_passages(qtbot) -> None:
    page = DocumentsPage()
    qtbot.addWidget(page)
    pending = _row("/docs/garden.pdf", "pending", "unfinished: indexing stopped", chunks=1018)
    pending = DocumentRow(
        replace(pending.record, state="pending"), "pending", pending.reason, pending.pages
    )
    rows = (_row("/docs/a.md", "done", chunks=71), pending)
    page.show_data(PageData(("Garden docs",), "Garden docs", rows, ()))
    assert page.table.item(1, 2).text() == "—"  # not 1018: none of them is searchable
    assert "1,018 passages found" in page.table.item(1, 2).toolTip()
    assert page.summary.text().startswith(
        "2 files: 1 indexed, 1 unfinished · 71 passages searchable"
    )


def test_delete_asks_to_remove_the_selected_file_unless_indexing(qtbot) -> None:
    page = _page(qtbot)
    page.show()
    assert not page.remove_file_button.isEnabled()  # nothing selected yet
    assert page.select_path("/docs/broken.pdf")
    with qtbot.waitSignal(page.removeFileRequested) as asked:
        qtbot.keyClick(page.table, Qt.Key.Key_Delete)
    assert asked.args == ["/docs/broken.pdf"]

    page.set_busy("Ember is indexing “manuals”: changes wait until it finishes.")
    for button in (page.remove_file_button, page.rename_button, page.reindex_all_button):
        assert not button.isEnabled() and "indexing" in button.toolTip()
    assert page.open_folder_button.isEnabled()  # reading, not writing
    with qtbot.assertNotEmitted(page.removeFileRequested):
        qtbot.keyClick(page.table, Qt.Key.Key_Delete)
    page.set_busy("")
    assert page.remove_file_button.isEnabled()
    assert page.reindex_all_button.toolTip() == "Read and embed every file of this collection again"


def test_a_new_name_must_be_free_and_not_empty(qtbot) -> None:
    assert rename_problem("", "a", ("a", "b")) == "Type a name."
    assert "exists already" in rename_problem("b", "a", ("a", "b"))
    assert rename_problem("c", "a", ("a", "b")) == ""
    dialog = RenameDialog("a", ("a", "b"))
    qtbot.addWidget(dialog)
    assert not dialog.ok.isEnabled()  # unchanged
    dialog.edit.setText("   ")
    assert not dialog.ok.isEnabled()
    dialog.edit.setText("  new   name ")
    assert dialog.ok.isEnabled() and dialog.name() == "new name"


def test_indexed_when_reads_as_a_person_says_it() -> None:
    now = 1_700_000_000.0
    assert indexed_when(None) == "—"
    assert indexed_when(now - 5, now) == "just now"
    assert indexed_when(now - 600, now) == "10 min ago"
    assert indexed_when(now - 3 * 3600, now) == "3 h ago"
    assert indexed_when(now - 3 * 86400, now) == time.strftime(
        "%d %b %Y %H:%M", time.localtime(now - 3 * 86400)
    )


def test_add_offers_files_and_a_folder(qtbot) -> None:
    sidebar = Sidebar()
    qtbot.addWidget(sidebar)
    menu = sidebar.add_docs.menu()
    assert [a.text() for a in menu.actions() if a.text()] == [
        "Add files…",
        "Add folder…",
        "Manage documents…",
    ]
    with qtbot.waitSignal(sidebar.addFolderRequested):
        sidebar.add_folder_action.trigger()
    with qtbot.waitSignal(sidebar.addDocumentsRequested):
        sidebar.add_files_action.trigger()


def test_a_folder_that_is_gone_is_said_to_be_gone(tmp_path) -> None:
    problem = open_folder_of(str(tmp_path / "unplugged" / "manual.pdf"))
    assert "unplugged" in problem and "is not there any more" in problem


def test_each_indexed_file_says_where_its_text_came_from(qtbot) -> None:
    page = DocumentsPage()
    qtbot.addWidget(page)
    mixed = TextSource("ocr", 3, 0.612, ocr_empty_pages=1)
    rows = (
        _row("/docs/scan.png", "done", chunks=2, source=TextSource("ocr", 1, 0.9312)),
        _row("/docs/typed.pdf", "done", chunks=5, pages=3, source=TEXT_LAYER, page_count=3),
        _row("/docs/mixed.pdf", "done", chunks=9, pages=80, source=mixed, page_count=80),
        _row("/docs/old.pdf", "done", chunks=4),  # indexed before Ember kept it
        _row("/docs/blank.png", "failed", "no text found: OCR found no text in this image"),
    )
    page.show_data(PageData(("manuals",), "manuals", rows, ()))
    column = COLUMNS.index("Text from")

    cells = [page.table.item(r, column) for r in range(len(rows))]
    assert [c.text() for c in cells] == ["OCR 0.93", "text layer", "text + OCR 0.61", "—", "—"]
    assert cells[0].toolTip() == "OCR'd 1 page, mean confidence 0.93"
    assert cells[1].toolTip() == "text layer"
    assert cells[2].toolTip() == (
        "text layer; 3 of 80 pages OCR'd, mean confidence 0.61 (low: the text found may be "
        "garbled); no text found on 1 of them"
    )
    assert cells[3].toolTip() == ""
    reason = page.table.item(4, COLUMNS.index("Reason")).text()
    assert reason == "no text found: OCR found no text in this image"  # said, never silent
