"""Keys do what the focused part of the window says, not only what the window's shortcuts say:
Esc in the message box while a message is being edited cancels the edit (the window's Esc stops
an answer); text shown in a message follows a change of the system's font size while the window
is open.

The real window (pytest-qt, offscreen) over the real chat history of
:mod:`tests.unit.ui.test_accessibility`; its model is not loaded."""

from __future__ import annotations

import pytest
from tests.unit.ui.test_accessibility import chat_id, window  # noqa: F401  (fixtures)

from ember.ui.qt import Qt

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
