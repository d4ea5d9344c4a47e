"""Each version of an answer keeps its own sources and timing: switching versions with the
‹ 1/2 › switcher shows that version's source chips (and its chips open its own sources) and its
timing line, never the other version's.

The real window (pytest-qt, offscreen) over a real chat history made in the store: one question,
answered twice (a regenerated version), each answer with its own citations and timings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ember.chats.store import ChatStore
from ember.engines import Timings
from ember.knowledge.types import Citation
from ember.paths import ember_paths
from ember.ui.qt import QToolButton
from tests.support.ui_app import close_window, open_window_on_chat, settle, wait_chats

pytestmark = pytest.mark.integration

FIRST_SOURCES = (Citation(1, "/docs/kettle manual.pdf", 12, None, "Use vinegar.", 0.8, "12", 40),)
SECOND_SOURCES = (
    Citation(1, "/docs/descaling notes.md", None, "Descaling", "Citric acid works.", 0.7),
    Citation(2, "/docs/warranty.pdf", 3, None, "Descaling is not covered.", 0.6, "3", 8),
)
FIRST_TIMINGS = Timings(0.25, 2.0, 40, 31)
SECOND_TIMINGS = Timings(0.75, 4.0, 40, 97)


def _answer(store: ChatStore, chat_id: int, text: str, timings: Timings, **where: int) -> int:
    writer = store.begin_reply(chat_id, model="smollm2", **where)
    writer.append(text)
    return writer.finish(timings=timings).id


@pytest.fixture
def window(qtbot) -> Iterator:  # type: ignore[no-untyped-def,type-arg]

    with ChatStore(ember_paths().ensure().chats_db) as store:
        chat = store.create("Kettle")
        store.add_message(chat.id, "user", "How do I descale the kettle?")
        first = _answer(store, chat.id, "Boil vinegar and water [1].", FIRST_TIMINGS)
        store.save_citations(first, FIRST_SOURCES)
        second = _answer(
            store,
            chat.id,
            "Citric acid [1]; not under warranty [2].",
            SECOND_TIMINGS,
            version_of=first,
        )
        store.save_citations(second, SECOND_SOURCES)
    win = open_window_on_chat(qtbot, chat.id, size=(1100, 800))
    qtbot.waitUntil(lambda: len(win.chat.bubbles) == 2, timeout=10_000)
    settle(qtbot)
    yield win
    close_window(win)


def _chips(window) -> list[str]:  # type: ignore[no-untyped-def]
    row = window.chat.bubbles[-1].sources_row
    return [chip.text() for chip in row.findChildren(QToolButton) if chip.isVisibleTo(row)]


def _timing(window) -> str:  # type: ignore[no-untyped-def]
    return window.chat.bubbles[-1].meta.text()


def _switch(qtbot, window, button_name: str, shown: str) -> None:  # type: ignore[no-untyped-def]
    button = getattr(window.chat.bubbles[-1].versions, button_name)
    button.click()
    wait_chats(qtbot, window)
    qtbot.waitUntil(lambda: window.chat.bubbles[-1].versions.text == shown, timeout=10_000)
    settle(qtbot)  # the chips of the old bubble are deleted later


def test_switching_versions_shows_each_versions_own_sources_and_timing(qtbot, window) -> None:
    answer = window.chat.bubbles[-1]
    assert answer.versions.text == "2/2" and answer.data.text.startswith("Citric acid")
    second_chips = _chips(window)
    assert len(second_chips) == 2, second_chips
    assert "descaling notes.md" in second_chips[0] and "warranty.pdf" in second_chips[1]
    assert "first token 0.75 s" in _timing(window) and "97 tokens" in _timing(window)

    _switch(qtbot, window, "previous", "1/2")
    assert window.chat.bubbles[-1].data.text.startswith("Boil vinegar")
    chips = _chips(window)
    assert len(chips) == 1 and "kettle manual.pdf" in chips[0], chips
    assert "first token 0.25 s" in _timing(window) and "31 tokens" in _timing(window)
    assert "0.75" not in _timing(window) and "97 tokens" not in _timing(window)

    # Its chip opens its own source, not the other version's.
    row = window.chat.bubbles[-1].sources_row
    chip = next(c for c in row.findChildren(QToolButton) if c.isVisibleTo(row))
    chip.click()
    viewer = window.source_viewer
    qtbot.waitUntil(lambda: viewer.banner.isVisible(), timeout=10_000)  # (the file is not here)
    assert [c.source for c in viewer.citations] == ["/docs/kettle manual.pdf"]
    viewer.close_pane()

    _switch(qtbot, window, "next", "2/2")
    assert _chips(window) == second_chips
    assert "first token 0.75 s" in _timing(window) and "97 tokens" in _timing(window)
