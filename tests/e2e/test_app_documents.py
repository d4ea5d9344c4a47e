"""Documents in the app: drop a folder, watch it index, ask, and follow the answer's sources.

Integration tests: the real window runs inside the test's own process (pytest-qt), so
they can reach into its widgets. The app as a person starts it, a separate `ember`
process, is tested in tests/e2e/test_app_process.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ember.ui.qt import QDesktopServices, QMessageBox, QUrl
from tests.support.ui_app import (
    UrlCatcher,
    close_window,
    deterministic_settings,
    drop_paths,
    find_dialog,
    open_window,
    send_and_wait,
    wait_chats,
)

pytestmark = [pytest.mark.slow, pytest.mark.integration]

INDEX_TIMEOUT_MS = 240_000

ROUTER = """# Zephyr router manual

## Resetting the router

To reset the Zephyr router to factory settings, hold the red pinhole button on the back
for fifteen seconds until the status light blinks purple. All saved Wi-Fi passwords are erased.

## Changing the Wi-Fi channel

Open the admin page at the router address and pick a channel between 1 and 11.
"""

GARDEN = """# Tomato growing notes

Tomatoes need at least six hours of direct sun. Water the soil, not the leaves,
and stake the plants when they reach thirty centimetres.
"""


@pytest.fixture
def library(tmp_path: Path) -> Path:
    folder = tmp_path / "manuals"
    folder.mkdir()
    (folder / "router.md").write_text(ROUTER, encoding="utf-8")
    (folder / "garden.md").write_text(GARDEN, encoding="utf-8")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not really a pdf\n")
    return folder


@pytest.fixture
def window(qtbot):
    win = open_window(qtbot, deterministic_settings(max_tokens=40))
    yield win
    close_window(win)


def _index_by_drop(qtbot, window, folder: Path) -> None:
    drop_paths(window, [folder])
    qtbot.waitUntil(lambda: find_dialog(window, "CollectionDialog") is not None, timeout=5000)
    dialog = find_dialog(window, "CollectionDialog")
    assert dialog.collection() == "manuals"  # suggested from the folder's name
    dialog.accept()
    assert window.indexing is not None and window.index_bar.isVisibleTo(window)
    qtbot.waitUntil(lambda: window.indexing is None, timeout=INDEX_TIMEOUT_MS)


def test_a_dropped_folder_is_indexed_into_a_collection(qtbot, window, library) -> None:
    _index_by_drop(qtbot, window, library)
    result = window.last_index_result
    assert result is not None and window.documents.last_collection == "manuals"
    assert result.indexed == 2 and result.chunks >= 2
    assert [Path(failure.path).name for failure in result.failed] == ["broken.pdf"]
    assert result.failed[0].reason  # a reason a person can read
    assert window.index_report.isVisibleTo(window)
    qtbot.waitUntil(lambda: [c.name for c in window.collection_infos] == ["manuals"], timeout=5000)
    item = window.sidebar.collections.item(0)
    assert item.text().startswith("manuals\n2 files")
    assert window.collections_button.text().startswith("Documents: manuals")


def test_an_answer_from_documents_lists_its_sources(qtbot, window, library) -> None:
    _index_by_drop(qtbot, window, library)
    send_and_wait(qtbot, window, "How do I reset the Zephyr router to factory settings?")

    answer = [b for b in window.chat.bubbles if b.data.role == "assistant"][-1]
    assert answer.data.state == "done"
    sources = [c.source for c in answer.data.citations]
    assert sources and Path(sources[0]).name == "router.md"
    assert answer.sources_row.isVisibleTo(window)
    stored = window.core.store.messages(window.conversation_id)[-1]
    assert stored.citations == answer.data.citations


def test_clicking_a_source_shows_its_passage_and_opens_the_file(qtbot, window, library) -> None:
    _index_by_drop(qtbot, window, library)
    send_and_wait(qtbot, window, "How do I reset the Zephyr router to factory settings?")
    answer = [b for b in window.chat.bubbles if b.data.role == "assistant"][-1]
    chips = answer.sources_row.findChildren(type(answer.copy_button))
    assert chips
    chips[0].click()
    viewer = window.source_viewer
    qtbot.waitUntil(lambda: viewer.location is not None, timeout=15_000)
    assert "pinhole" in viewer.highlighted_text()
    assert "router.md" in viewer.title.text()

    # Clicking the [1] marker in the text goes to the same place.
    viewer.close_pane()
    answer._on_link(QUrl("ember-cite:1"))
    qtbot.waitUntil(lambda: viewer.isVisible() and viewer.location is not None, timeout=15_000)
    assert "pinhole" in viewer.highlighted_text()

    catcher = UrlCatcher()
    QDesktopServices.setUrlHandler("file", catcher, "open")
    try:
        viewer.system_button.click()
    finally:
        QDesktopServices.unsetUrlHandler("file")
    assert viewer.opened_url is not None
    assert Path(viewer.opened_url.toLocalFile()).name == "router.md"


def test_indexing_can_be_cancelled_from_the_status_bar(qtbot, window, tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for number in range(60):
        (folder / f"note{number:02}.md").write_text(
            f"# Note {number}\n\n" + f"Observation {number} about tides and bridges. " * 40,
            encoding="utf-8",
        )
    window.index_documents([folder], "many")
    documents = window.documents
    qtbot.waitUntil(  # files counted
        lambda: documents.last_progress is not None and documents.last_progress.files_total == 60,
        timeout=60_000,
    )
    window.index_cancel.click()
    # A run that has already done some work asks first (tests/e2e/test_app_index_progress.py).
    question = find_dialog(window, "ConfirmStopIndexing")
    if question is not None and question.isVisible():
        question.button(QMessageBox.StandardButton.Ok).click()
    qtbot.waitUntil(lambda: window.indexing is None, timeout=30_000)

    result = window.last_index_result
    assert result is not None and result.cancelled
    assert result.indexed < 60
    assert window.index_label.text().startswith("Stopped indexing")
    assert not window.index_cancel.isVisibleTo(window)
    assert find_dialog(window, "ErrorDialog") is None  # stopping is not a failure


def _menu_action(window, text: str):  # type: ignore[no-untyped-def]
    window.collections_menu.aboutToShow.emit()  # fills the menu as opening it does
    return next(a for a in window.collections_menu.actions() if a.text() == text)


def test_each_chat_chooses_which_collections_answer_it(qtbot, window, library) -> None:
    _index_by_drop(qtbot, window, library)
    qtbot.waitUntil(lambda: [c.name for c in window.collection_infos] == ["manuals"], timeout=5000)
    store = window.core.store
    plain, grounded = store.create("Plain chat"), store.create("About the router")

    window.open_conversation(grounded.id)
    wait_chats(qtbot, window)
    _menu_action(window, "manuals").trigger()
    wait_chats(qtbot, window)
    assert store.get(grounded.id).collections == ("manuals",)
    assert window.collections_button.text().startswith("Documents: manuals")

    window.open_conversation(plain.id)  # another chat keeps its own choice
    wait_chats(qtbot, window)
    assert store.get(plain.id).collections == ()
    assert window.collections_button.text().startswith("No documents")

    window.open_conversation(grounded.id)
    wait_chats(qtbot, window)
    _menu_action(window, "No documents (plain chat)").trigger()
    wait_chats(qtbot, window)
    assert store.get(grounded.id).collections == ()
