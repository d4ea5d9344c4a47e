"""The documents page and "+ Add" in the real window: real stores, real files, the real embedder
in the knowledge helper process (pytest-qt drives the window in this process)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ember.files import shown_path
from ember.ui.qt import QDesktopServices, QFileDialog, QMessageBox, Qt
from tests.support.ui_app import UrlCatcher, close_window, find_dialog, open_window, wait_chats

pytestmark = [pytest.mark.slow, pytest.mark.integration]

INDEX_TIMEOUT_MS = 240_000
ROUTER = "# Zephyr router\n\nHold the red pinhole button for fifteen seconds to reset it.\n"
GARDEN = "# Tomatoes\n\nTomatoes need six hours of direct sun and a stake.\n"


@pytest.fixture
def library(tmp_path: Path) -> Path:
    folder = tmp_path / "manuals"
    folder.mkdir()
    (folder / "router.md").write_text(ROUTER, encoding="utf-8")
    (folder / "garden.md").write_text(GARDEN, encoding="utf-8")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    (folder / "firmware.bin").write_bytes(bytes(range(256)) * 8)
    return folder


@pytest.fixture
def window(qtbot):
    win = open_window(qtbot, wait_for_model=False)
    yield win
    close_window(win)


def _index(qtbot, window, paths: list[Path], collection: str) -> None:
    window.index_documents(paths, collection)
    qtbot.waitUntil(lambda: window.indexing is None, timeout=INDEX_TIMEOUT_MS)
    qtbot.waitUntil(lambda: collection in [c.name for c in window.collection_infos], timeout=10_000)


def _open_page(qtbot, window, collection: str):  # type: ignore[no-untyped-def]
    window.documents.pageRequested.emit(collection)
    page = window.documents_admin.page
    qtbot.waitUntil(lambda: page.data is not None and page.data.collection == collection)
    return page


def _settled(qtbot, window) -> None:
    """Every page read and write answered, and the sidebar listed again."""
    qtbot.waitUntil(lambda: window.documents_admin.loads == 0, timeout=30_000)
    wait_chats(qtbot, window)


def _rows(page) -> dict[str, tuple[str, ...]]:  # type: ignore[no-untyped-def]
    table = page.table
    return {
        Path(table.item(r, 0).data(Qt.ItemDataRole.UserRole)).name: tuple(
            table.item(r, c).text() for c in range(1, table.columnCount())
        )
        for r in range(table.rowCount())
    }


def _collection_text(window, name: str) -> str:  # type: ignore[no-untyped-def]
    rows = window.sidebar.collections
    texts = [rows.item(r).text() for r in range(rows.count())]
    return next((t.split("\n", 1)[1] for t in texts if t.split("\n")[0] == name), "")


def _answer(qtbot, window, name: str) -> None:
    qtbot.waitUntil(lambda: find_dialog(window, name) is not None, timeout=5000)
    find_dialog(window, name).button(QMessageBox.StandardButton.Ok).click()


def test_add_offers_files_and_a_folder_and_the_folder_is_indexed(
    qtbot, window, library, monkeypatch
) -> None:
    menu = window.sidebar.add_docs.menu()
    assert menu is not None
    assert {"Add files…", "Add folder…"} <= {a.text() for a in menu.actions()}
    window.collections_menu.aboutToShow.emit()
    assert {"Add files…", "Add folder…"} <= {a.text() for a in window.collections_menu.actions()}

    # The folder dialog is the system's: it answers with the folder a person would pick.
    monkeypatch.setattr(
        QFileDialog, "getExistingDirectory", staticmethod(lambda *_a, **_k: str(library))
    )
    window.sidebar.add_folder_action.trigger()
    qtbot.waitUntil(lambda: find_dialog(window, "CollectionDialog") is not None, timeout=5000)
    dialog = find_dialog(window, "CollectionDialog")
    assert dialog.collection() == "manuals"
    dialog.accept()
    qtbot.waitUntil(lambda: window.indexing is None, timeout=INDEX_TIMEOUT_MS)
    result = window.last_index_result
    assert result is not None and result.indexed == 2  # router.md and garden.md


def test_the_page_lists_each_file_with_its_state_and_reason_and_renames(
    qtbot, window, library
) -> None:
    _index(qtbot, window, [library / "garden.md"], "garden")
    _index(qtbot, window, [library], "manuals")
    # The run's summary counts the files it did not index, failed and skipped, as the page does.
    status = window.documents.w.status
    assert status.index_report.text() == "1 failed, 1 skipped — details"
    status.index_report.click()
    report = find_dialog(window, "IndexReportDialog")
    assert report is not None and report.skipped.count() == 1 and report.list.count() == 1
    assert report.skipped.item(0).text().startswith("firmware.bin — unsupported file type")
    report.close()
    qtbot.waitUntil(lambda: _collection_text(window, "manuals") == "2 files · 1 failed, 1 skipped")
    assert window.index_label.text().startswith("Indexed “manuals”: 2 new or changed files")
    store = window.core.store
    chat = store.create("About the router", collections=("manuals",))
    window.open_conversation(chat.id)
    wait_chats(qtbot, window)
    assert window.conversations.collections == ("manuals",)

    page = _open_page(qtbot, window, "manuals")
    rows = _rows(page)
    assert set(rows) == {"router.md", "garden.md", "broken.pdf", "firmware.bin"}
    assert page.summary.text().startswith("4 files: 2 indexed, 1 failed, 1 skipped · ")
    state, passages, pages, source, when, reason = rows["router.md"]
    assert (state, pages, when, reason) == ("indexed", "—", "just now", "") and int(passages) >= 1
    assert source == "text layer"  # where its text came from (OCR'd files: "OCR 0.93")
    assert rows["broken.pdf"][0] == "failed" and rows["broken.pdf"][5]  # with why
    assert rows["broken.pdf"][3] == "—"
    assert rows["firmware.bin"][0] == "skipped"
    assert rows["firmware.bin"][5] == "unsupported file type '.bin'"
    path_cell = page.table.item(0, 0)  # the file's name; its folder on hover
    path = path_cell.data(Qt.ItemDataRole.UserRole)
    assert path_cell.text() == Path(path).name and path_cell.toolTip() == shown_path(path)

    # Open the folder of a file: the system's handler gets the folder.
    catcher = UrlCatcher()
    QDesktopServices.setUrlHandler("file", catcher, "open")
    try:
        assert page.select_path(str(library / "router.md"))
        page.open_folder_button.click()
    finally:
        QDesktopServices.unsetUrlHandler("file")
    assert [Path(u.toLocalFile()) for u in catcher.opened] == [library]

    # Rename: a name in use is refused as it is typed; a free one renames, and chats follow.
    page.rename_button.click()
    qtbot.waitUntil(lambda: find_dialog(window, "RenameCollectionDialog") is not None)
    dialog = find_dialog(window, "RenameCollectionDialog")
    dialog.edit.setText("garden")
    assert not dialog.ok.isEnabled() and "exists already" in dialog.problem.text()
    dialog.edit.setText("  Home   manuals ")
    assert dialog.ok.isEnabled()
    dialog.ok.click()
    _settled(qtbot, window)
    qtbot.waitUntil(
        lambda: [c.name for c in window.collection_infos] == ["Home manuals", "garden"],
        timeout=10_000,
    )
    assert window.conversations.collections == ("Home manuals",)
    assert store.get(chat.id).collections == ("Home manuals",)
    assert window.collections_button.text().startswith("Documents: Home manuals")
    # The last run's summary names the collection by its new name.
    assert window.index_label.text().startswith("Indexed “Home manuals”: ")
    qtbot.waitUntil(lambda: page.chooser.currentText() == "Home manuals", timeout=10_000)
    assert "router.md" in _rows(page)


def test_remove_and_reindex_files_and_remove_the_collection(qtbot, window, library) -> None:
    _index(qtbot, window, [library], "manuals")
    page = _open_page(qtbot, window, "manuals")
    router = str(library / "router.md")

    # Re-index one file: read anew, while the page's writing actions wait, saying why.
    old_id = next(r.record.id for r in page.data.rows if r.path == router)
    assert page.select_path(router)
    page.reindex_file_button.click()
    assert window.indexing is not None
    assert not page.remove_file_button.isEnabled()
    assert "indexing" in page.remove_file_button.toolTip()
    qtbot.waitUntil(lambda: window.indexing is None, timeout=INDEX_TIMEOUT_MS)
    qtbot.waitUntil(
        lambda: next(r.record.id for r in page.data.rows if r.path == router) != old_id,
        timeout=10_000,
    )
    assert _rows(page)["router.md"][0] == "indexed"
    assert page.remove_file_button.isEnabled()

    # Remove it with the Delete key, after saying yes.
    assert page.select_path(router)
    page.table.setFocus()
    qtbot.keyClick(page.table, Qt.Key.Key_Delete)
    _answer(qtbot, window, "ConfirmRemoveFile")
    _settled(qtbot, window)
    qtbot.waitUntil(lambda: "router.md" not in _rows(page), timeout=10_000)
    assert router not in {r.path for r in window.core.document_rows("manuals")}
    assert (library / "router.md").exists()  # the file itself stays

    # Remove the whole collection.
    page.remove_collection_button.click()
    _answer(qtbot, window, "ConfirmRemoveCollection")
    _settled(qtbot, window)
    qtbot.waitUntil(lambda: window.collection_infos == [], timeout=10_000)
    qtbot.waitUntil(lambda: page.data.names == (), timeout=10_000)
    assert not window.index_label.isVisibleTo(window)  # its last run's summary went with it
    assert not page.rename_button.isEnabled()


def test_a_watched_folder_is_indexed_again_when_a_file_changes(qtbot, window, library) -> None:
    _index(qtbot, window, [library], "manuals")
    page = _open_page(qtbot, window, "manuals")
    page.watch_box.click()
    _settled(qtbot, window)
    assert window.core.watched_folders() == {"manuals": (str(library),)}
    watcher = window.documents_admin.watcher
    assert watcher.watched == {"manuals": (str(library),)}
    qtbot.waitUntil(lambda: watcher.is_ready("manuals"), timeout=10_000)
    qtbot.waitUntil(lambda: page.watch_box.isChecked(), timeout=10_000)

    (library / "boiler.md").write_text("# Boiler\n\nThe wobblestone boiler is serviced in May.\n")
    qtbot.waitUntil(lambda: window.indexing is not None, timeout=30_000)
    qtbot.waitUntil(lambda: window.indexing is None, timeout=INDEX_TIMEOUT_MS)
    qtbot.waitUntil(lambda: _rows(page).get("boiler.md", ("",))[0] == "indexed", timeout=10_000)

    page.watch_box.click()  # off again
    _settled(qtbot, window)
    assert window.core.watched_folders() == {}
    assert window.documents_admin.watcher.watched == {}


def test_a_watch_follows_an_added_file_and_keeps_a_folder_moved_away(
    qtbot, window, library, tmp_path
) -> None:
    router = library / "router.md"
    _index(qtbot, window, [router], "router")  # one file of the folder, not the folder
    _index(qtbot, window, [library], "manuals")
    page = _open_page(qtbot, window, "router")
    page.watch_box.click()
    _settled(qtbot, window)
    assert window.core.watched_folders() == {"router": (str(router),)}

    # The folder is moved away (a drive unplugged); the watch's run must not empty "manuals".
    library.rename(tmp_path / "moved")
    window.documents.index_when_free([library], "manuals")  # what a watch asks for
    qtbot.waitUntil(lambda: window.indexing is None, timeout=INDEX_TIMEOUT_MS)
    rows = window.core.document_rows("manuals")
    assert {Path(r.path).name for r in rows} == {
        "router.md",
        "garden.md",
        "broken.pdf",
        "firmware.bin",
    }
    states = {Path(r.path).name: r.state for r in rows}
    assert states["router.md"] == states["garden.md"] == "unavailable"
