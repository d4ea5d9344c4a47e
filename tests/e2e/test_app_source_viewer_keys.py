"""The source viewer with the keyboard in the real window: the focus goes to the cited text and
back to the chip (or the last of two chips) that opened it, with the pane beside the chat; Esc
from the message box closes the pane while no answer is being written; the Shortcuts list names
the viewer's keys; the changed-file banner's "Re-index" indexes that file again through the
window's own indexing path.

The real window (pytest-qt, offscreen) over a real chat history whose answer cites two chunks of
files indexed into the window's own knowledge base (the tiny embedder: only where the chunks
are matters); its model is not loaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from ember.chats.store import ChatStore
from ember.paths import ember_paths
from ember.ui.qt import QApplication, Qt, QToolButton
from ember.ui.shortcuts import VIEWER_KEYS, ShortcutsDialog
from ember.ui.source_viewer import CLOSE_TIP
from tests.support.citations import cite, index_chunks
from tests.support.ui_app import close_window, open_window_on_chat

pytestmark = pytest.mark.integration

NOTES = """# Kettle notes

## Cleaning

Wipe the outside with a damp cloth; never put the base in water.

## Storage

Descale it monthly with vinegar and water.
"""
STORING = "Keep the kettle dry and store it with the lid open, so that no mould grows in it.\n"


@pytest.fixture
def cited(tmp_path: Path) -> dict[str, object]:
    notes = tmp_path / "notes.md"
    notes.write_text(NOTES, encoding="utf-8")
    storing = tmp_path / "storing.txt"
    storing.write_text(STORING, encoding="utf-8")
    # Into the window's own knowledge base, collection "cited".
    rows = index_chunks([notes, storing], ember_paths().ensure().knowledge_dir)
    cleaning = next(r for r in rows if "damp cloth" in r.text)
    storage = next(r for r in rows if "lid open" in r.text)
    with ChatStore(ember_paths().ensure().chats_db) as store:
        chat = store.create("Kettle care")
        store.add_message(chat.id, "user", "How do I look after my kettle?")
        answer = store.add_message(
            chat.id, "assistant", "Wipe it [1] and store it dry [2].", model="x"
        )
        store.save_citations(answer.id, [cite(cleaning, 1), cite(storage, 2)])
    return {"chat": chat.id, "notes": notes}


@pytest.fixture
def window(qtbot, cited):  # type: ignore[no-untyped-def]
    win = open_window_on_chat(qtbot, cited["chat"])
    yield win
    close_window(win)


def _chips(window) -> list[QToolButton]:  # type: ignore[no-untyped-def]
    return window.chat.bubbles[-1].sources_row.findChildren(QToolButton, "Chip")


def _enter(qtbot, window, chip: QToolButton):  # type: ignore[no-untyped-def]
    """Focus ``chip`` and press Enter on it, as a keyboard user opens a source."""
    chip.setFocus()
    qtbot.waitUntil(chip.hasFocus, timeout=2000)
    qtbot.keyClick(chip, Qt.Key.Key_Return)
    viewer = window.source_viewer
    qtbot.waitUntil(lambda: viewer.location is not None, timeout=15_000)
    return viewer


def test_the_focus_goes_to_the_cited_text_and_back_to_the_last_chip_beside_the_chat(
    qtbot, window
) -> None:
    first, second = _chips(window)
    viewer = _enter(qtbot, window, first)
    assert viewer.room.mode == "beside" and window.chat.isVisible()
    assert QApplication.focusWidget() is viewer.text_view
    assert viewer.text_view.accessibleName() == "Cited text"
    qtbot.keyClick(viewer.text_view, Qt.Key.Key_Escape)
    assert not viewer.isVisible() and first.hasFocus()

    _enter(qtbot, window, first)
    viewer = _enter(qtbot, window, second)  # another chip while the pane is open
    assert QApplication.focusWidget() is viewer.text_view
    viewer.close_button.setFocus()
    qtbot.keyClick(viewer.close_button, Qt.Key.Key_Space)  # ✕
    assert not viewer.isVisible() and second.hasFocus()


def test_esc_from_the_message_box_closes_the_pane_while_no_answer_is_written(qtbot, window) -> None:
    viewer = _enter(qtbot, window, _chips(window)[1])
    assert window.generation is None
    assert viewer.close_button.toolTip() == CLOSE_TIP and "Esc" in CLOSE_TIP
    window.composer.input.setFocus()
    qtbot.waitUntil(window.composer.input.hasFocus, timeout=2000)
    qtbot.keyClick(window.composer.input, Qt.Key.Key_Escape)
    assert not viewer.isVisible()
    assert window.composer.input.hasFocus()  # the person was typing: the focus stays there


def test_the_shortcuts_list_names_the_viewer_keys(qtbot, window) -> None:
    qtbot.keyClick(window.composer.input, Qt.Key.Key_F1)
    qtbot.waitUntil(
        lambda: any(
            isinstance(w, ShortcutsDialog) and w.isVisible() for w in QApplication.topLevelWidgets()
        ),
        timeout=5000,
    )
    dialog = next(w for w in QApplication.topLevelWidgets() if isinstance(w, ShortcutsDialog))
    rows = dialog.rows()
    for keys, what in VIEWER_KEYS:
        assert (keys, what) in rows
    assert any("close the source viewer" in what for _keys, what in rows if _keys == "Esc")
    said = " ".join(what for _keys, what in rows)
    assert "zoom the PDF page in, out" in said and "fit the PDF page" in said


def test_re_index_on_the_changed_file_banner_indexes_that_file_again(qtbot, window, cited) -> None:
    notes: Path = cited["notes"]  # type: ignore[assignment]
    notes.write_text(NOTES.replace("damp cloth", "soft damp cloth"), encoding="utf-8")
    viewer = _enter(qtbot, window, _chips(window)[0])
    assert viewer.location.state == "changed"
    button = viewer.reindex_button
    assert viewer.banner.isVisible() and button.isVisible() and button.accessibleName()
    assert viewer.system_button.isEnabled()  # the file is there: it opens elsewhere too
    button.click()
    qtbot.waitUntil(lambda: window.indexing is not None, timeout=30_000)
    assert window.documents.indexing_collection == "cited"
    assert not button.isEnabled() and "Indexing this file again" in viewer.banner.text()
    window.documents.cancel_indexing()
    qtbot.waitUntil(lambda: window.indexing is None, timeout=60_000)
