"""Search your documents in the window: Ctrl+Shift+F, type, Enter lists the passages as
``ember search`` does, Enter on one opens it in the source viewer with the passage highlighted;
a search whose only match was deleted since indexing lists nothing and names the file.

The real window (pytest-qt, offscreen; its model is not loaded) indexes real files through its
own indexing path, with the real embedder in the knowledge helper process, and searches there."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest

from ember.ui.document_search import NO_MATCHES, DocumentSearchDialog
from ember.ui.qt import QApplication, Qt
from tests.support.ui_app import close_window, open_window_on_chat, settle

pytestmark = [pytest.mark.slow, pytest.mark.integration]

INDEX_TIMEOUT_MS = 240_000
SEARCH_TIMEOUT_MS = 120_000
NOTES = """# Kettle notes

## Cleaning

Wipe the outside with a damp cloth; never put the base in water.

## Storage

Keep the kettle dry and store it with the lid open, so that no mould can grow inside it.
"""
GARDEN = "# Tomatoes\n\nTomatoes need six hours of direct sun and a wooden stake.\n"


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


@pytest.fixture
def docs(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "notes.md").write_text(NOTES, encoding="utf-8")
    (folder / "garden.md").write_text(GARDEN, encoding="utf-8")
    return {"notes": folder / "notes.md", "garden": folder / "garden.md"}


@pytest.fixture
def window(qtbot, docs):  # type: ignore[no-untyped-def]
    from ember.chats.store import ChatStore
    from ember.paths import ember_paths

    with ChatStore(ember_paths().ensure().chats_db) as store:
        chat = store.create("Kettle care")
    win = open_window_on_chat(qtbot, chat.id)
    win.index_documents([docs["notes"], docs["garden"]], "home")
    qtbot.waitUntil(lambda: win.indexing is None, timeout=INDEX_TIMEOUT_MS)
    qtbot.waitUntil(lambda: "home" in [c.name for c in win.collection_infos], timeout=10_000)
    yield win
    for widget in QApplication.topLevelWidgets():
        if widget is not win and widget.isVisible():
            widget.close()
    close_window(win)


def _open_with_keys(qtbot, window) -> DocumentSearchDialog:  # type: ignore[no-untyped-def]
    """Ctrl+Shift+F from the message box: the search opens, the focus in its field."""
    window.activateWindow()
    window.composer.input.setFocus()
    qtbot.waitUntil(window.composer.input.hasFocus, timeout=2000)
    qtbot.keyClick(
        window.composer.input,
        Qt.Key.Key_F,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    dialog = window.findChild(DocumentSearchDialog, "DocumentSearch")
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(dialog.query.hasFocus, timeout=2000)
    return dialog


def _search(qtbot, dialog: DocumentSearchDialog, text: str) -> None:  # type: ignore[no-untyped-def]
    qtbot.keyClicks(dialog.query, text)
    qtbot.keyClick(dialog.query, Qt.Key.Key_Return)
    assert dialog.searching and dialog.status.text() == "Searching…"  # the window did not wait
    qtbot.waitUntil(lambda: not dialog.searching, timeout=SEARCH_TIMEOUT_MS)


def test_a_passage_found_opens_in_the_viewer_highlighted(qtbot, window, monkeypatch) -> None:
    threads: list[threading.Thread] = []
    search = window.core.search

    def recorded(*args, **kwargs):  # type: ignore[no-untyped-def]
        threads.append(threading.current_thread())
        return search(*args, **kwargs)

    monkeypatch.setattr(window.core, "search", recorded)
    dialog = _open_with_keys(qtbot, window)
    assert [dialog.scope.itemText(i) for i in range(dialog.scope.count())] == [
        "All documents",
        "home",
    ]
    _search(qtbot, dialog, "where should I keep the kettle so mould cannot grow")

    assert threads and threads[0] is not threading.main_thread()  # off the GUI thread
    lines = [dialog.results.item(r).text() for r in range(dialog.results.count())]
    first, snippet = lines[0].split("\n", 1)
    assert first.startswith("1. notes.md · ") and "Storage" in first, lines
    assert "lid open" in snippet
    assert dialog.status.text().startswith(f"{len(lines)} passage")
    assert dialog.results.hasFocus() and dialog.results.currentRow() == 0

    qtbot.keyClick(dialog.results, Qt.Key.Key_Return)
    assert not dialog.isVisible()
    viewer = window.source_viewer
    qtbot.waitUntil(lambda: viewer.location is not None, timeout=15_000)
    assert viewer.isVisible() and "notes.md" in viewer.title.text()
    assert viewer.location.state == "found" and not viewer.banner.isVisible()
    assert viewer.stack.currentWidget() is viewer.text_view
    highlighted = _words(viewer.highlighted_text())
    assert "lid" in highlighted and "mould" in highlighted

    # + Add → Search documents… opens it again: the same results, the focus on the same row.
    viewer.close_pane()
    settle(qtbot)
    menu = window.sidebar.add_docs.menu()
    texts = [a.text() for a in menu.actions() if not a.isSeparator()]
    assert texts[-2:] == ["Search documents…", "Manage documents…"]
    next(a for a in menu.actions() if a.text() == "Search documents…").trigger()
    assert dialog.isVisible() and dialog.results.count() == len(lines)
    qtbot.waitUntil(dialog.results.hasFocus, timeout=2000)
    assert dialog.results.currentRow() == 0


def test_a_collection_whose_files_went_lists_nothing_and_names_them(qtbot, window, docs) -> None:
    docs["notes"].unlink()
    docs["garden"].unlink()
    # A collection's right-click menu opens the search in that collection.
    menu = window.sidebar.collection_menu("home")
    next(a for a in menu.actions() if a.text() == "Search in it…").trigger()
    dialog = window.findChild(DocumentSearchDialog, "DocumentSearch")
    assert dialog is not None and dialog.isVisible() and dialog.scope.currentText() == "home"
    _search(qtbot, dialog, "kettle mould")
    assert dialog.results.count() == 0
    text = dialog.status.text()
    assert text.startswith(NO_MATCHES) and "notes.md (deleted since it was indexed)" in text
    assert not dialog.open_button.isEnabled()
    qtbot.keyClick(dialog.results, Qt.Key.Key_Return)  # nothing to open: nothing opens
    assert getattr(window, "source_viewer", None) is None or not window.source_viewer.isVisible()
