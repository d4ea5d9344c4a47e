"""Indexing in the window tells the truth: what it is doing, what the collection holds so far, a
summary that stays, and a stop that asks before it throws work away.

Integration tests: the real window in the test's process (pytest-qt), indexing through the real
knowledge helper process with the real MiniLM.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ember.ui.qt import QApplication, QMessageBox, Qt
from tests.support.nasty_files import write_pdf
from tests.support.ui_app import close_window, deterministic_settings, find_dialog, open_window

pytestmark = [pytest.mark.slow, pytest.mark.integration]

INDEX_TIMEOUT_MS = 240_000
OLD_SUMMARY_TIMEOUT_MS = 8000  # the summary used to vanish after this long

PAGE = (
    "Page {n} of the Zephyr router manual. The status light blinks purple while the router "
    "restarts; hold the pinhole button for fifteen seconds to reset it to factory settings. "
) * 5


@pytest.fixture
def window(qtbot):
    win = open_window(qtbot, deterministic_settings(max_tokens=40))
    yield win
    close_window(win)


def _collection_text(window, name: str) -> str:  # type: ignore[no-untyped-def]
    rows = window.sidebar.collections
    for row in range(rows.count()):
        item = rows.item(row)
        if item.text().split("\n")[0] == name:
            return item.text()
    return ""


def test_progress_names_the_stage_and_the_sidebar_counts_passages_while_indexing(
    qtbot, window, tmp_path: Path
) -> None:
    folder = tmp_path / "manual"
    folder.mkdir()
    write_pdf(folder / "manual.pdf", [PAGE.format(n=n) for n in range(1, 31)])
    (folder / "notes.md").write_text("# Notes\n\nThe guest network has its own password.\n")
    labels: list[str] = []
    sidebar: list[str] = []

    def finished() -> bool:
        labels.append(window.index_label.text())
        sidebar.append(_collection_text(window, "manual"))
        return window.indexing is None

    window.index_documents([folder], "manual")
    qtbot.waitUntil(finished, timeout=INDEX_TIMEOUT_MS)

    # The helper's MiniLM starts cold: the wait is named, not a bare bar.
    assert "Indexing “manual”: Loading the embedding model…" in labels
    assert any(text.startswith("Indexing “manual”: Embedding ") for text in labels) or any(
        "Reading manual.pdf" in text for text in labels
    ), labels
    during = [text for text in sidebar if "indexing" in text]
    assert during and all(t.endswith("indexing…") or "passages embedded" in t for t in during), (
        during
    )
    assert not any("0 files" in text for text in during)

    result = window.last_index_result
    assert result is not None and not result.cancelled and result.chunks > 30
    assert window.index_label.text().startswith("Indexed “manual”: 2 new or changed files")
    assert f"{result.chunks:,} passages embedded" in window.index_label.text()
    qtbot.waitUntil(lambda: _collection_text(window, "manual").endswith("2 files · ready"))

    # The summary stays until dismissed, past the old timeout, with a way to the documents page.
    qtbot.wait(OLD_SUMMARY_TIMEOUT_MS + 500)
    assert window.index_label.isVisibleTo(window)
    assert window.index_open.isVisibleTo(window)
    with qtbot.waitSignal(window.documents.pageRequested, timeout=1000) as shown:
        window.index_open.click()
    assert shown.args == ["manual"]
    window.index_dismiss.click()
    assert not window.index_label.isVisibleTo(window)
    assert not window.index_dismiss.isVisibleTo(window)


def _big_notes(folder: Path) -> Path:
    """One Markdown file of several hundred passages: minutes of embedding on two cores."""
    folder.mkdir()
    paragraphs = [
        f"## Section {n}\n\n"
        + " ".join(f"Observation {n}.{i} about tides, bridges and lighthouses." for i in range(30))
        for n in range(400)
    ]
    (folder / "logbook.md").write_text("# Logbook\n\n" + "\n\n".join(paragraphs), encoding="utf-8")
    return folder


def _tab_to(qtbot, window, target) -> int:  # type: ignore[no-untyped-def]
    """Press Tab from the composer until ``target`` has focus; the number of presses."""
    window.activateWindow()
    window.composer.input.setFocus(Qt.FocusReason.OtherFocusReason)
    qtbot.waitUntil(window.composer.input.hasFocus, timeout=2000)
    for presses in range(1, 15):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        if QApplication.focusWidget() is target:
            return presses
    raise AssertionError("Cancel cannot be reached with Tab")


def _question_open() -> bool:
    return any(
        w.objectName() == "ConfirmStopIndexing" and w.isVisible()
        for w in QApplication.topLevelWidgets()
    )


def test_tab_tab_space_from_the_composer_asks_before_stopping_a_run(
    qtbot, window, tmp_path: Path
) -> None:
    folder = _big_notes(tmp_path / "logbook")
    window.index_documents([folder], "logbook")
    documents = window.documents
    qtbot.waitUntil(  # embedding, and some of it saved at a checkpoint already
        lambda: documents.last_progress is not None and documents.last_progress.passages_saved > 0,
        timeout=INDEX_TIMEOUT_MS,
    )
    # Cancel is reachable from the keyboard, right after the composer's own controls.
    presses = _tab_to(qtbot, window, window.index_cancel)
    assert presses <= 3
    qtbot.keyClick(window.index_cancel, Qt.Key.Key_Space)

    qtbot.waitUntil(_question_open, timeout=2000)
    question = find_dialog(window, "ConfirmStopIndexing")
    assert question.text().startswith("Stop indexing “logbook”? The ")
    assert "passages saved so far are kept; add the same files again to finish" in (question.text())
    assert window.indexing is not None and not window.indexing.cancelled  # nothing stopped yet
    # Its default button (Enter, or Space on the focused default) keeps indexing.
    keep = question.defaultButton()
    assert keep is question.button(QMessageBox.StandardButton.Cancel)
    keep.click()
    qtbot.waitUntil(lambda: not _question_open(), timeout=2000)
    assert window.indexing is not None and not window.indexing.cancelled

    window.index_cancel.click()
    qtbot.waitUntil(_question_open, timeout=2000)
    again = find_dialog(window, "ConfirmStopIndexing")
    again.button(QMessageBox.StandardButton.Ok).click()
    qtbot.waitUntil(lambda: window.indexing is None, timeout=30_000)

    result = window.last_index_result
    assert result is not None and result.cancelled and result.chunks > 0
    summary = window.index_label.text()
    # One file, not finished: nothing of it is searchable, and no count says otherwise.
    assert summary == (
        "Stopped indexing “logbook”: no file finished yet; add the same files again to finish "
        "(finished ones are not read again)"
    )
    # The sidebar counts what is searchable, as the documents page does.
    qtbot.waitUntil(lambda: "unfinished" in _collection_text(window, "logbook"), timeout=10_000)
    assert _collection_text(window, "logbook") == "logbook\n0 passages searchable · unfinished"
