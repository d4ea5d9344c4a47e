"""Clicking a source opens it beside the answer: a PDF at the cited page with the passage
highlighted, a Markdown file's text scrolled to the passage; Esc closes the pane.

The real window (pytest-qt, offscreen) over a real chat history whose answer cites chunks of
files indexed here with the real ingest path; its model is not loaded (not needed to read)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ember.chats.store import ChatStore
from ember.paths import ember_paths
from ember.ui.qt import Qt, QToolButton, QUrl
from tests.support.citations import cite, index_chunks
from tests.support.labeled_pdf import FIRST_BODY_PAGE, write_labeled_manual
from tests.support.ui_app import close_window, open_window_on_chat, settle

pytestmark = pytest.mark.integration

NOTES = """# Kettle notes

## Cleaning

Wipe the outside with a damp cloth; never put the base in water.

## Storage

Keep the kettle dry and store it with the lid open, so that no mould can grow inside it.
"""


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


@pytest.fixture
def cited(tmp_path: Path) -> dict[str, object]:
    (tmp_path / "docs").mkdir()
    manual = write_labeled_manual(tmp_path / "docs" / "kettle.pdf")
    notes = tmp_path / "docs" / "notes.md"
    notes.write_text(NOTES, encoding="utf-8")
    rows = index_chunks([manual, notes], tmp_path / "kb")
    descaling = next(r for r in rows if "Fill the jug halfway" in r.text)
    storage = next(r for r in rows if "mould" in r.text)
    with ChatStore(ember_paths().ensure().chats_db) as store:
        chat = store.create("Kettle care")
        store.add_message(chat.id, "user", "How do I look after my kettle?")
        answer = store.add_message(
            chat.id, "assistant", "Descale it with vinegar [1] and store it dry [2].", model="x"
        )
        store.save_citations(answer.id, [cite(descaling, 1), cite(storage, 2)])
    return {"chat": chat.id, "pdf": descaling, "md": storage, "notes": notes}


@pytest.fixture
def window(qtbot, cited):  # type: ignore[no-untyped-def]
    win = open_window_on_chat(qtbot, cited["chat"])
    yield win
    close_window(win)


def test_a_pdf_chip_opens_the_cited_page_beside_the_answer_with_the_passage_highlighted(
    qtbot, window, cited
) -> None:
    viewer = window.source_viewer if hasattr(window, "source_viewer") else None
    assert viewer is None or not viewer.isVisible()
    answer = window.chat.bubbles[-1]
    chip = answer.sources_row.findChildren(QToolButton)[0]
    chip.click()
    viewer = window.source_viewer
    assert viewer.isVisible() and "kettle.pdf" in viewer.title.text()  # at once, before the page
    qtbot.waitUntil(lambda: viewer.location is not None, timeout=15_000)
    row = cited["pdf"]
    assert viewer.location.state == "found" and not viewer.banner.isVisible()
    assert viewer.stack.currentWidget() is viewer.pdf_view
    assert viewer.pdf_view.page.page == row.page == FIRST_BODY_PAGE + 1
    assert viewer.pdf_view.highlight_rects()
    # Side by side: the pane is right of the chat, both in view.
    chat_right = window.chat.mapTo(window, window.chat.rect().topRight()).x()
    assert viewer.mapTo(window, viewer.rect().topLeft()).x() >= chat_right
    assert window.chat.isVisible()

    qtbot.keyClick(viewer.pdf_view, Qt.Key.Key_Escape)
    assert not viewer.isVisible()

    answer._on_link(QUrl("ember-cite:1"))  # the [1] in the answer's text opens it again
    qtbot.waitUntil(lambda: viewer.location is not None and viewer.isVisible(), timeout=15_000)
    assert viewer.pdf_view.page.page == row.page
    viewer.close_button.click()
    assert not viewer.isVisible()


def test_a_markdown_chip_shows_the_text_with_the_passage_highlighted(qtbot, window, cited) -> None:
    answer = window.chat.bubbles[-1]
    answer.sources_row.findChildren(QToolButton)[1].click()
    viewer = window.source_viewer
    qtbot.waitUntil(lambda: viewer.location is not None, timeout=15_000)
    assert viewer.stack.currentWidget() is viewer.text_view
    assert _words(viewer.highlighted_text()) == _words(cited["md"].text)
    assert "notes.md" in viewer.title.text()


def test_a_file_changed_since_indexing_opens_with_a_banner_and_no_highlight(
    qtbot, window, cited
) -> None:
    cited["notes"].write_text(NOTES.replace("Cleaning", "Cleaning it well"), encoding="utf-8")
    answer = window.chat.bubbles[-1]
    answer.sources_row.findChildren(QToolButton)[1].click()
    viewer = window.source_viewer
    qtbot.waitUntil(lambda: viewer.location is not None, timeout=15_000)
    assert viewer.banner.isVisible() and "changed since it was indexed" in viewer.banner.text()
    assert viewer.highlighted_text() == ""


def test_the_pane_closes_when_another_chat_opens_or_the_shown_one_is_deleted(
    qtbot, window, cited
) -> None:
    def open_source() -> None:
        window.chat.bubbles[-1].sources_row.findChildren(QToolButton)[1].click()
        qtbot.waitUntil(lambda: window.source_viewer.location is not None, timeout=15_000)
        assert window.source_viewer.isVisible()

    open_source()
    window.conversations.new_chat()  # its sources belong to the chat left
    assert not window.source_viewer.isVisible()

    window.open_conversation(cited["chat"])
    qtbot.waitUntil(lambda: bool(window.chat.bubbles), timeout=10_000)
    settle(qtbot)
    open_source()
    window.delete_conversation(cited["chat"])
    qtbot.waitUntil(lambda: window.conversation_id is None, timeout=10_000)
    assert not window.source_viewer.isVisible()
