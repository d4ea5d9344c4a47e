"""Keys do what the focused part of the window says, not only what the window's shortcuts say:
Esc in the message box while a message is being edited cancels the edit (the window's Esc stops
an answer), and with nothing to stop or cancel closes the source viewer; text shown in a message follows a change of the system's font size while the window
is open.

The real window (pytest-qt, offscreen) over the real chat history of
:mod:`tests.unit.ui.test_accessibility`; its model is not loaded."""

from __future__ import annotations

import pytest
from tests.support.ui_app import settle
from tests.unit.ui.test_accessibility import chat_id, window  # noqa: F401  (fixtures)

from ember.ui.qt import QApplication, Qt

pytestmark = pytest.mark.integration


def test_esc_in_the_message_box_cancels_editing_a_message(qtbot, window) -> None:  # noqa: F811
    question = window.chat.bubbles[0]
    qtbot.keyClick(question.edit_button, Qt.Key.Key_Space)
    composer = window.composer
    assert composer.editing_message_id == question.data.message_id
    qtbot.waitUntil(composer.input.hasFocus, timeout=2000)
    assert composer.input.toPlainText() == "How do I reset the router?"

    qtbot.keyClick(composer.input, Qt.Key.Key_Escape)

    assert composer.editing_message_id is None
    assert composer.edit_banner.isHidden()
    assert composer.input.toPlainText() == ""


def test_esc_in_the_message_box_with_nothing_to_stop_or_cancel_closes_the_source_viewer(
    qtbot,
    window,  # noqa: F811
    tmp_path,
) -> None:
    from ember.knowledge.types import Citation

    notes = tmp_path / "notes.md"
    notes.write_text("Descale the kettle monthly.\n", encoding="utf-8")
    viewer = window.show_citation(Citation(1, str(notes), None, None, "Descale", 0.8))
    with qtbot.waitSignal(viewer.opened, timeout=15_000):
        pass
    assert viewer.isVisible()
    window.composer.input.setFocus()
    qtbot.waitUntil(window.composer.input.hasFocus, timeout=2000)

    qtbot.keyClick(window.composer.input, Qt.Key.Key_Escape)

    assert not viewer.isVisible()


def test_messages_grow_with_the_system_font_while_the_window_is_open(qtbot, window) -> None:  # noqa: F811
    before = QApplication.font()
    bigger = QApplication.font()
    bigger.setPointSizeF(before.pointSizeF() * 1.5)
    try:
        QApplication.setFont(bigger)  # as the system's font size changes, Ember running
        settle(qtbot)
        for bubble in window.chat.bubbles:
            needed = bubble.body.document().size().height()
            assert bubble.body.document().defaultFont().pointSizeF() >= bigger.pointSizeF()
            assert bubble.body.viewport().height() >= needed, bubble.data.text  # none cut off
        box = window.composer.input  # two lines of the new size, as before
        two_lines = 2 * box.fontMetrics().lineSpacing() + 2 * box.document().documentMargin()
        assert box.font().pointSizeF() >= bigger.pointSizeF()
        assert box.viewport().height() >= two_lines
    finally:
        QApplication.setFont(before)
