"""Message versions in the window: regenerate and edit keep the earlier message, reachable with
the ‹ 2/3 › switcher on it, which re-threads the conversation below it.

The real window, the real embedded model at temperature 0, the real chat history (pytest-qt,
offscreen). The second answer is given fewer tokens, so the two versions read differently."""

from __future__ import annotations

import pytest

from ember.ui.qt import Qt
from tests.support.ui_app import (
    ANSWER_TIMEOUT_MS,
    close_window,
    deterministic_settings,
    open_window,
    send_and_wait,
    wait_chats,
)

pytestmark = [pytest.mark.slow, pytest.mark.integration]

QUESTION = "Write two sentences about the sea."


@pytest.fixture
def window(qtbot):  # type: ignore[no-untyped-def]
    win = open_window(qtbot, deterministic_settings(max_tokens=32))
    yield win
    close_window(win)


def _texts(window) -> list[str]:  # type: ignore[no-untyped-def]
    return [b.data.text for b in window.chat.bubbles]


def _answer_with(qtbot, window, start) -> None:  # type: ignore[no-untyped-def]
    start()
    qtbot.waitUntil(lambda: window.generation is None, timeout=ANSWER_TIMEOUT_MS)


def test_regenerate_and_edit_keep_earlier_versions_behind_a_switcher(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    send_and_wait(qtbot, window, QUESTION)
    first = window.chat.bubbles[-1].data.text
    assert first.strip() and not window.chat.bubbles[-1].versions.isVisible()

    # Regenerate: a second version of the answer; the first is one click away, with its text.
    window.core.apply_settings(deterministic_settings(max_tokens=6))
    _answer_with(qtbot, window, window.chat.bubbles[-1].regenerate_button.click)
    answer = window.chat.bubbles[-1]
    second = answer.data.text
    assert second != first
    assert answer.versions.text == "2/2"
    assert answer.versions.previous.accessibleName() == "Previous version"
    shown_second = answer.body.document().toPlainText()
    answer.versions.previous.click()
    wait_chats(qtbot, window)
    answer = window.chat.bubbles[-1]
    assert answer.versions.text == "1/2"
    assert answer.data.text == first
    assert answer.body.document().toPlainText() not in ("", shown_second)  # drawn again
    assert window.core.store.messages(window.conversation_id)[-1].content == first

    # Edit the question: a second version of it, answered on its own.
    mine = window.chat.bubbles[0]
    mine.edit_button.click()
    send_and_wait(qtbot, window, "Name a fruit.")
    mine = window.chat.bubbles[0]
    assert mine.data.text == "Name a fruit." and mine.versions.text == "2/2"
    assert len(window.chat.bubbles) == 2 and first not in _texts(window)

    # Back to the first question by keyboard: the old thread returns below it, with the answer
    # version that was showing when it was left.
    mine.versions.previous.setFocus()
    qtbot.waitUntil(mine.versions.previous.hasFocus, timeout=2000)
    qtbot.keyClick(mine.versions.previous, Qt.Key.Key_Space)
    wait_chats(qtbot, window)
    assert _texts(window) == [QUESTION, first]
    assert window.chat.bubbles[0].versions.text == "1/2"
    assert window.chat.bubbles[1].versions.text == "1/2"

    # And forward again by keyboard.
    qtbot.keyClick(window.chat.bubbles[0].versions.next, Qt.Key.Key_Space)
    wait_chats(qtbot, window)
    assert _texts(window)[0] == "Name a fruit." and len(window.chat.bubbles) == 2


def test_switchers_are_disabled_while_an_answer_streams(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    send_and_wait(qtbot, window, QUESTION)
    window.core.apply_settings(deterministic_settings(max_tokens=6))
    _answer_with(qtbot, window, window.chat.bubbles[-1].regenerate_button.click)
    window.core.apply_settings(deterministic_settings(max_tokens=200))
    answer = window.chat.bubbles[-1]
    assert answer.versions.isEnabled()
    window.composer.input.setPlainText("Now write a long poem about the sea.")
    qtbot.keyClick(window.composer.input, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.chat.streaming is not None, timeout=ANSWER_TIMEOUT_MS)
    assert not answer.versions.isEnabled()
    answer.versions.previous.click()  # (disabled: nothing happens)
    window.stop()
    qtbot.waitUntil(lambda: window.generation is None, timeout=ANSWER_TIMEOUT_MS)
    wait_chats(qtbot, window)
    assert answer.versions.isEnabled() and answer.versions.text == "2/2"
