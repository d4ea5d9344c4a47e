"""The composer: Enter sends, Shift+Enter breaks the line, Esc stops, a reason when disabled."""

from __future__ import annotations

import pytest

from ember.ui.composer import Composer
from ember.ui.qt import Qt


@pytest.fixture
def composer(qtbot) -> Composer:
    widget = Composer()
    qtbot.addWidget(widget)
    widget.show()
    return widget


def test_enter_sends_the_text(qtbot, composer) -> None:
    qtbot.keyClicks(composer.input, "hello")
    with qtbot.waitSignal(composer.sendRequested) as blocker:
        qtbot.keyClick(composer.input, Qt.Key.Key_Return)
    assert blocker.args == ["hello"]


def test_shift_enter_starts_a_new_line(qtbot, composer) -> None:
    qtbot.keyClicks(composer.input, "one")
    qtbot.keyClick(composer.input, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(composer.input, "two")
    assert composer.input.toPlainText() == "one\ntwo"


def test_an_empty_message_is_not_sent(qtbot, composer) -> None:
    with qtbot.assertNotEmitted(composer.sendRequested):
        qtbot.keyClicks(composer.input, "   ")
        qtbot.keyClick(composer.input, Qt.Key.Key_Return)


def test_a_blocked_composer_says_why_and_does_not_send(qtbot, composer) -> None:
    composer.set_blocked("Loading SmolLM2…")
    assert composer.reason.text() == "Loading SmolLM2…"
    assert not composer.button.isEnabled()
    composer.input.setPlainText("hello")
    with qtbot.assertNotEmitted(composer.sendRequested):
        qtbot.keyClick(composer.input, Qt.Key.Key_Return)


def test_escape_stops_while_generating(qtbot, composer) -> None:
    composer.set_generating(True)
    assert composer.button.text() == "Stop"
    with qtbot.waitSignal(composer.stopRequested):
        qtbot.keyClick(composer.input, Qt.Key.Key_Escape)


def test_a_long_reason_wraps_instead_of_widening_the_window(qtbot, composer) -> None:
    narrow = composer.minimumSizeHint().width()
    composer.set_blocked("No model loaded: " + "this model file could not be read " * 12)
    assert composer.reason.wordWrap()
    assert composer.minimumSizeHint().width() <= max(narrow, 400)


def test_the_edit_banner_says_the_earlier_version_is_kept(qtbot, composer) -> None:
    composer.start_edit(7, "How do I descale the kettle?")
    said = composer.edit_label.text()
    assert composer.edit_banner.isVisible()
    assert "new version" in said and "earlier one stays" in said
    assert "replaces" not in said  # editing keeps the earlier message and its answer
