"""Ask, read, cite and open a source with the keyboard alone; the answer is announced to screen
readers once, when it ends, and not while it streams; the shortcuts for the message box, copying
and regenerating the last answer.

Integration tests over the real window, model, embedder and stores (pytest-qt): every step after
the documents are indexed is a key press on the focused widget."""

from __future__ import annotations

from pathlib import Path

import pytest

from ember.ui import accessibility
from ember.ui.qt import QApplication, Qt, QToolButton, QWidget
from tests.e2e.test_app_chat_documents import INDEX_TIMEOUT_MS, QUESTION, ROUTER
from tests.support.ui_app import (
    ANSWER_TIMEOUT_MS,
    close_window,
    deterministic_settings,
    open_window,
    settle,
    wait_chats,
)

pytestmark = [pytest.mark.slow, pytest.mark.integration]

CTRL = Qt.KeyboardModifier.ControlModifier
CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


def opened_source(window: QWidget) -> str | None:
    """The passage the source viewer highlights for the source the person opened, or None while
    none is open (or it is still being found)."""
    viewer = getattr(window, "source_viewer", None)
    if viewer is None or not viewer.isVisible() or viewer.location is None:
        return None
    return viewer.highlighted_text()


def _press(qtbot, key: Qt.Key, modifier=Qt.KeyboardModifier.NoModifier) -> QWidget:  # type: ignore[no-untyped-def]
    """Press ``key`` on whatever has the keyboard focus; returns what has it afterwards."""
    focused = QApplication.focusWidget()
    assert focused is not None, "nothing has the keyboard focus"
    qtbot.keyClick(focused, key, modifier)
    return QApplication.focusWidget()


@pytest.fixture
def window(qtbot, tmp_path: Path):  # type: ignore[no-untyped-def]
    folder = tmp_path / "manuals"
    folder.mkdir()
    (folder / "router.md").write_text(ROUTER, encoding="utf-8")
    win = open_window(qtbot, deterministic_settings(max_tokens=24))
    win.index_documents([folder], "manuals")
    qtbot.waitUntil(lambda: win.indexing is None, timeout=INDEX_TIMEOUT_MS)
    qtbot.waitUntil(lambda: "manuals" in win.conversations.available, timeout=10_000)
    yield win
    for widget in QApplication.topLevelWidgets():
        if widget is not win and widget.isVisible():
            widget.close()
    close_window(win)


@pytest.fixture
def announced(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the window announced to screen readers (each announcement is still posted)."""
    said: list[str] = []
    post = accessibility.post_announcement

    def record(widget: QWidget, text: str, assertive: bool = False) -> None:
        said.append(text)
        post(widget, text, assertive)

    monkeypatch.setattr(accessibility, "post_announcement", record)
    return said


def test_ask_read_cite_and_open_the_source_with_keys_only(qtbot, window, announced) -> None:
    window.sidebar.search.setFocus()
    qtbot.waitUntil(window.sidebar.search.hasFocus, timeout=2000)
    assert _press(qtbot, Qt.Key.Key_N, CTRL) is not None  # Ctrl+N: a new chat, with the documents
    wait_chats(qtbot, window)
    qtbot.waitUntil(lambda: window.conversations.collections == ("manuals",), timeout=10_000)
    assert _press(qtbot, Qt.Key.Key_L, CTRL) is window.composer.input  # Ctrl+L: the message box
    qtbot.keyClicks(window.composer.input, QUESTION)
    _press(qtbot, Qt.Key.Key_Return)
    assert window.generation is not None, "Enter should have sent the question"
    qtbot.waitUntil(lambda: window.generation is None, timeout=ANSWER_TIMEOUT_MS)
    # The Tab order follows the new chips and notice at the event loop's next turns (a person
    # does not press Tab within the same millisecond; a test can).
    settle(qtbot)
    qtbot.waitUntil(lambda: not window.focus_order._due, timeout=5000)

    answer = window.chat.bubbles[-1]
    assert answer.data.role == "assistant" and answer.data.state == "done"
    chips = answer.sources_row.findChildren(QToolButton, "Chip")
    assert chips and "router.md" in chips[0].text()
    assert announced == [accessibility.answer_announcement("done", answer.body.toPlainText())]
    assert announced[0].startswith("Answer finished: ")

    # Back from the message box: the answer's buttons, then its sources, then its text.
    focus = window.composer.input
    assert QApplication.focusWidget() is focus
    path = []
    while focus is not chips[-1] and len(path) < 6:
        focus = _press(qtbot, Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
        path.append(focus)
    assert focus is chips[-1], [
        (type(w).__name__, w.objectName(), w.accessibleName()) for w in path
    ]
    assert set(path[:-1]) <= {answer.copy_button, answer.regenerate_button}
    while focus is not chips[0]:
        focus = _press(qtbot, Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
    before: list[str] = []  # above the sources: the small model's notice (its link), the text
    while focus is not answer.body and len(before) < 4:
        focus = _press(qtbot, Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
        what = focus.objectName() or type(focus).__name__
        if not before or before[-1] != what:  # (Tab also steps through a label's links)
            before.append(what)
    assert before == ["SmallModelNotice", "SafeTextBrowser"]

    # Forward to the first chip again; Enter opens the cited passage.
    for _ in range(6):
        if focus is chips[0]:
            break
        focus = _press(qtbot, Qt.Key.Key_Tab)
    assert focus is chips[0]
    assert opened_source(window) is None
    _press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: opened_source(window) is not None, timeout=5000)
    shown = opened_source(window)
    assert shown is not None and "pinhole button" in shown
    assert len(announced) == 1  # opening a source announces nothing more


def test_a_streaming_answer_reports_no_text_changes_until_it_ends(qtbot, window, announced) -> None:
    """Qt reports a text view's changes to screen readers from its document's contentsChange
    signal: while the answer streams, its document must not emit it."""
    window.new_chat()
    wait_chats(qtbot, window)
    states: list[str] = []
    start = window.chat.start_streaming

    def watched(data):  # type: ignore[no-untyped-def]
        bubble = start(data)
        bubble.body.document().contentsChange.connect(lambda *_: states.append(bubble.data.state))
        return bubble

    window.chat.start_streaming = watched
    tokens: list[object] = []
    on_event = window.generator._on_stream_event

    def counted(event: object) -> None:
        tokens.append(event)
        on_event(event)

    window.generator._on_stream_event = counted
    window.composer.input.setPlainText(QUESTION)
    qtbot.keyClick(window.composer.input, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.generation is None, timeout=ANSWER_TIMEOUT_MS)
    answer = window.chat.bubbles[-1]
    assert len(answer.data.text) > 20 and len(tokens) > 5  # it did stream, in many pieces
    assert "streaming" not in states, "the answer reported text changes while it streamed"
    assert states and states[-1] == "done"  # the ended answer's text is reported
    assert len(announced) == 1 and announced[0].startswith("Answer finished: ")


def test_a_stopped_answer_is_announced_as_stopped(qtbot, window, announced) -> None:
    window.new_chat()
    wait_chats(qtbot, window)
    window.composer.input.setFocus()
    qtbot.keyClicks(window.composer.input, QUESTION)
    _press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.chat.streaming is not None, timeout=ANSWER_TIMEOUT_MS)
    _press(qtbot, Qt.Key.Key_Escape)  # Esc: stop
    qtbot.waitUntil(lambda: window.generation is None, timeout=ANSWER_TIMEOUT_MS)
    assert window.chat.bubbles[-1].data.state == "cancelled"
    assert len(announced) == 1 and announced[0].startswith("Answer stopped")


def test_the_last_answer_is_copied_and_answered_again_with_keys(qtbot, window) -> None:
    window.new_chat()
    wait_chats(qtbot, window)
    window.composer.input.setFocus()
    qtbot.keyClicks(window.composer.input, QUESTION)
    _press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.generation is None, timeout=ANSWER_TIMEOUT_MS)
    first = window.chat.bubbles[-1]
    QApplication.clipboard().setText("")
    _press(qtbot, Qt.Key.Key_C, CTRL_SHIFT)  # Ctrl+Shift+C: copy the last answer
    assert QApplication.clipboard().text() == first.data.text != ""
    first_id = first.data.message_id
    _press(qtbot, Qt.Key.Key_R, CTRL_SHIFT)  # Ctrl+Shift+R: answer the last question again
    assert window.generation is not None
    qtbot.waitUntil(lambda: window.generation is None, timeout=ANSWER_TIMEOUT_MS)
    again = window.chat.bubbles[-1]
    assert again.data.role == "assistant" and again.data.message_id != first_id
    assert [b.data.role for b in window.chat.bubbles] == ["user", "assistant"]
