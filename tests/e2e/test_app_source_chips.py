"""An answer's source chips at 800×600: they wrap onto more lines rather than widening the
answer, and each keeps its page in view however long its file's name.

The real window over a real chat history whose answer cites four pages of long-named PDFs
(pytest-qt, offscreen); its model is not loaded (layout does not need it)."""

from __future__ import annotations

import pytest

from ember.chats.store import ChatStore
from ember.knowledge.types import Citation
from ember.paths import ember_paths
from ember.ui.qt import QToolButton
from tests.support.ui_app import close_window, rect_in, settle, wait_chats

pytestmark = pytest.mark.integration

NAMES = (
    "gardenprofessional_complete_handbook_of_perennials_2023_edition.pdf",
    "kettle_and_coffee_machine_descaling_instructions_for_every_model.pdf",
    "the_very_long_installation_manual_of_the_heat_pump_outdoor_unit.pdf",
    "annual_report_of_the_allotment_society_with_all_appendices_final.pdf",
)
CITATIONS = tuple(
    Citation(n, f"/docs/{name}", 160 + n, None, f"Passage {n} of {name}.", 0.8, str(154 + n), 166)
    for n, name in enumerate(NAMES, start=1)
)
ANSWER = (
    "Cut the perennials back in late autumn [1], descale the kettle every month [2], leave a "
    "metre of room around the heat pump's outdoor unit [3], and pay the allotment fee by "
    "March [4]. " * 3
)


@pytest.fixture
def chat_id() -> int:
    with ChatStore(ember_paths().ensure().chats_db) as store:
        chat = store.create("Garden and kettle")
        store.add_message(chat.id, "user", "What do my documents say about the season?")
        answer = store.add_message(chat.id, "assistant", ANSWER, model="SmolLM2")
        store.save_citations(answer.id, CITATIONS)
    return chat.id


@pytest.fixture
def window(qtbot, chat_id):  # type: ignore[no-untyped-def]
    from ember.ui.app import create_application, create_window

    create_application()
    win = create_window(start_background=False)
    qtbot.addWidget(win)
    win.resize(800, 600)
    win.show()
    qtbot.waitExposed(win)
    qtbot.waitUntil(lambda: win.started, timeout=10_000)
    win.open_conversation(chat_id)
    wait_chats(qtbot, win)
    qtbot.waitUntil(lambda: win.conversation_id == chat_id, timeout=10_000)
    settle(qtbot)
    yield win
    close_window(win)


def test_at_800_by_600_every_chip_and_the_answers_buttons_lie_inside_the_chat(
    qtbot, window
) -> None:
    assert window.size().width() == 800 and window.size().height() == 600
    answer = window.chat.bubbles[-1]
    assert answer.data.role == "assistant"
    chips = answer.sources_row.findChildren(QToolButton)
    assert len(chips) == 4
    viewport = window.chat.viewport()
    inside = viewport.rect()
    for widget in (*chips, answer.copy_button, answer.regenerate_button):
        window.chat.ensureWidgetVisible(widget)
        settle(qtbot)
        assert widget.isVisible(), widget.text()
        rect = rect_in(widget, viewport)
        assert inside.left() <= rect.left() and rect.right() <= inside.right(), (
            f"{widget.text()!r} at {rect} is cut off by the chat, {inside}"
        )
        assert widget.width() >= widget.sizeHint().width(), f"{widget.text()!r} is squeezed"
    # The chips wrap onto lines of their own: none overlaps another or the answer's buttons.
    row = answer.sources_row
    for i, chip in enumerate(chips):
        assert row.rect().contains(rect_in(chip, row)), f"{chip.text()!r} spills out of its row"
        assert not any(rect_in(chip, row).intersects(rect_in(o, row)) for o in chips[i + 1 :])
    assert rect_in(row, answer.card).bottom() < rect_in(answer.copy_button, answer.card).top()
    # The answer's text is no wider than the chat: its lines wrap, none is cut mid-word.
    assert rect_in(answer.body, viewport).right() <= inside.right()


def test_each_chip_shows_its_page_however_long_the_file_name(qtbot, window) -> None:
    answer = window.chat.bubbles[-1]
    chips = answer.sources_row.findChildren(QToolButton)
    assert len(chips) == 4
    for chip, citation in zip(chips, CITATIONS, strict=True):
        page = citation.page_text()
        assert page is not None and page.startswith(f"p. {citation.page_label} (")
        assert page in chip.text()
        assert chip.text().startswith(f"[{citation.n}] ")
        assert chip.fontMetrics().horizontalAdvance(chip.text()) <= chip.width()  # not elided
        tip = chip.toolTip()
        assert NAMES[citation.n - 1] in tip and page in tip and citation.snippet in tip
