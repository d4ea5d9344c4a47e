"""A message's buttons are reached with Tab in the order they are shown, left to right; its header
shows the model's name as text."""

from __future__ import annotations

from ember.ui.bubble import BubbleData, MessageBubble
from ember.ui.qt import QColor, Qt


def test_tab_goes_through_a_messages_buttons_left_to_right(qtbot) -> None:
    bubble = MessageBubble(BubbleData(role="user", text="How do I reset it?"), QColor("#eee"))
    qtbot.addWidget(bubble)
    bubble.show()
    bubble.activateWindow()
    qtbot.waitExposed(bubble)
    buttons = (bubble.edit_button, bubble.regenerate_button, bubble.copy_button)
    assert [b.text() for b in buttons if b.isVisible()] == ["Edit", "Copy"]  # as shown
    bubble.edit_button.setFocus()
    qtbot.waitUntil(bubble.edit_button.hasFocus, timeout=2000)
    bubble.focusNextChild()  # what Tab does
    assert bubble.copy_button.hasFocus()


def test_a_models_name_is_shown_as_text_never_as_markup(qtbot) -> None:
    data = BubbleData(role="assistant", text="Hi", model='<img src="x"><b>evil</b>.gguf')
    bubble = MessageBubble(data, QColor("#eee"))
    qtbot.addWidget(bubble)
    assert bubble.author.textFormat() == Qt.TextFormat.PlainText
    assert bubble.author.text() == '<img src="x"><b>evil</b>'
