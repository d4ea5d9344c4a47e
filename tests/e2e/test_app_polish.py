"""Smaller things a person notices: drafts stay with their chat, shortcuts, copy feedback, the
theme setting, the message's token count before sending."""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from ember.chats.store import ChatStore
from ember.paths import ember_paths
from ember.ui.qt import QApplication, Qt
from tests.support.ui_app import close_window, deterministic_settings, open_window, wait_chats

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def _chats(*titles: str) -> list[int]:
    store = ChatStore(ember_paths().ensure().chats_db)
    ids = []
    for title in titles:
        chat = store.create(title)
        store.add_message(chat.id, "user", f"hello from {title}")
        ids.append(chat.id)
    store.close()
    return ids


def _open(qtbot, window, chat_id: int) -> None:  # type: ignore[no-untyped-def]
    window.open_conversation(chat_id)
    wait_chats(qtbot, window)
    qtbot.waitUntil(
        lambda: window.conversation_id == chat_id and not window.composer.blocked_reason
    )


def test_a_half_written_message_stays_with_its_chat(qtbot) -> None:
    first, second = _chats("First", "Second")
    window = open_window(qtbot, wait_for_model=False)
    try:
        composer = window.composer
        _open(qtbot, window, first)
        qtbot.keyClicks(composer.input, "half a thought")
        _open(qtbot, window, second)
        assert composer.input.toPlainText() == ""  # Enter here can no longer send it
        qtbot.keyClicks(composer.input, "for the second")
        window.new_chat()
        assert composer.input.toPlainText() == ""
        _open(qtbot, window, first)
        assert composer.input.toPlainText() == "half a thought"
        _open(qtbot, window, second)
        assert composer.input.toPlainText() == "for the second"
    finally:
        qtbot.waitUntil(lambda: not window.model_loading, timeout=60_000)
        close_window(window)


def test_drafts_come_back_after_a_restart(qtbot) -> None:
    first, second = _chats("First", "Second")
    window = open_window(qtbot, wait_for_model=False)
    try:
        _open(qtbot, window, first)
        qtbot.keyClicks(window.composer.input, "kept for later")
        _open(qtbot, window, second)
        qtbot.keyClicks(window.composer.input, "open one's draft")
    finally:
        qtbot.waitUntil(lambda: not window.model_loading, timeout=60_000)
        close_window(window)
    window = open_window(qtbot, wait_for_model=False)
    try:
        wait_chats(qtbot, window)
        assert window.conversation_id == second
        assert window.composer.input.toPlainText() == "open one's draft"
        _open(qtbot, window, first)
        assert window.composer.input.toPlainText() == "kept for later"
    finally:
        qtbot.waitUntil(lambda: not window.model_loading, timeout=60_000)
        close_window(window)


@contextmanager
def idle_window(qtbot):  # type: ignore[no-untyped-def]
    """The real window, active, with no model needed (it still loads in the background)."""
    window = open_window(qtbot, wait_for_model=False)
    try:
        window.activateWindow()
        qtbot.waitActive(window)
        yield window
    finally:
        qtbot.waitUntil(lambda: not window.model_loading, timeout=60_000)
        close_window(window)


def _press(qtbot, window, key: Qt.Key, modifier=Qt.KeyboardModifier.NoModifier) -> None:  # type: ignore[no-untyped-def]
    qtbot.keyClick(window.focusWidget() or window, key, modifier)


def test_ctrl_k_focuses_the_chat_search(qtbot) -> None:
    with idle_window(qtbot) as window:
        window.composer.input.setFocus()
        window.sidebar.search.setText("budget")
        _press(qtbot, window, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
        assert window.sidebar.search.hasFocus()
        assert window.sidebar.search.selectedText() == "budget"  # typing replaces the old search


def test_the_shortcuts_list_opens_from_keys_and_the_menu(qtbot) -> None:
    with idle_window(qtbot) as window:
        from ember.ui.shortcuts import SHORTCUTS, ShortcutsDialog

        def listed() -> list[ShortcutsDialog]:
            return [
                w
                for w in QApplication.topLevelWidgets()
                if isinstance(w, ShortcutsDialog) and w.isVisible()
            ]

        for key, modifier in (
            (Qt.Key.Key_Slash, Qt.KeyboardModifier.ControlModifier),
            (Qt.Key.Key_F1, Qt.KeyboardModifier.NoModifier),
        ):
            window.composer.input.setFocus()
            _press(qtbot, window, key, modifier)
            qtbot.waitUntil(lambda: bool(listed()))
            dialog = listed()[0]
            what = [row[1] for row in dialog.rows()]
            assert all(s.what in what for s in SHORTCUTS)
            assert "Quit Ember" in what and "Search chats" in what
            dialog.close()
            qtbot.waitUntil(lambda: not listed())
        entry = next(a for a in window.more_menu.actions() if a.text() == "Keyboard shortcuts")
        entry.trigger()
        qtbot.waitUntil(lambda: bool(listed()))
        listed()[0].close()


def test_ctrl_q_closes_the_window_as_the_close_button_does(qtbot) -> None:
    with idle_window(qtbot) as window:
        window.composer.input.setFocus()
        _press(qtbot, window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(lambda: not window.isVisible())
        assert window._closing  # closeEvent ran: state saved, running work cancelled


def _store_answer(text: str) -> int:
    store = ChatStore(ember_paths().ensure().chats_db)
    chat = store.create("Copying")
    store.add_message(chat.id, "user", "show me")
    store.add_message(chat.id, "assistant", text, model="test")
    store.close()
    return chat.id


def test_copying_says_copied(qtbot) -> None:
    with idle_window(qtbot) as window:
        from ember.ui.qt import QUrl

        chat_id = _store_answer("Run this:\n\n```sh\nls -l\n```\n")
        _open(qtbot, window, chat_id)
        answer = [b for b in window.chat.bubbles if b.data.role == "assistant"][-1]
        assert answer.copy_button.text() == "Copy"
        answer.copy_button.click()
        assert QApplication.clipboard().text() == answer.data.text
        assert answer.copy_button.text() == "Copied"
        qtbot.waitUntil(lambda: answer.copy_button.text() == "Copy", timeout=5000)  # and back
        answer._on_link(QUrl("ember-copy:0"))  # what clicking the code block's link sends
        assert QApplication.clipboard().text().strip() == "ls -l"
        assert "copied" in window.statusBar().currentMessage().lower()


def test_the_theme_chosen_in_settings_applies_at_once_and_at_the_next_start(
    qtbot, monkeypatch
) -> None:
    from ember.config import load_settings
    from ember.ui.qt import QPalette

    monkeypatch.delenv("EMBER_THEME", raising=False)

    def window_lightness() -> int:
        return QApplication.palette().color(QPalette.ColorRole.Window).lightness()

    with idle_window(qtbot) as window:
        wait_chats(qtbot, window)
        qtbot.waitUntil(lambda: window.started)
        window.models.read_settings()
        for choice, dark in (("dark", True), ("light", False), ("dark", True)):
            dialog = window.open_settings()
            dialog.theme.setCurrentIndex(dialog.theme.findData(choice))
            dialog.accept()
            assert window.theme.dark is dark
            assert (window_lightness() < 128) is dark
        assert load_settings().theme == "dark"
    with idle_window(qtbot) as window:
        assert window.theme.dark is True and window_lightness() < 128
    monkeypatch.setenv("EMBER_THEME", "light")  # the environment still wins
    with idle_window(qtbot) as window:
        assert window.theme.dark is False and window_lightness() >= 128


def test_a_message_s_size_shows_before_sending_and_one_too_long_is_not_sent(qtbot) -> None:
    window = open_window(qtbot, deterministic_settings(n_ctx=512, max_tokens=48))
    try:
        composer, counter = window.composer, window.token_count
        composer.input.setPlainText("Hello there.")
        qtbot.waitUntil(lambda: counter.size is not None and counter.size.text == "Hello there.")
        assert counter.size.exact and not composer.size_label.isVisible()  # short: no clutter
        medium = "The quick brown fox jumps over the lazy dog. " * 12
        composer.input.setPlainText(medium)
        qtbot.waitUntil(lambda: counter.size is not None and counter.size.text == medium)
        assert counter.size.exact and counter.size.fits
        assert composer.size_label.isVisible()
        assert composer.size_label.text() == f"{counter.size.tokens:,} / 512 tokens"
        assert counter.size.tokens == window.core.engine().count_tokens(medium)

        long = "The quick brown fox jumps over the lazy dog. " * 60
        composer.input.setPlainText(long)
        qtbot.waitUntil(lambda: counter.size is not None and counter.size.text == long)
        assert not counter.size.fits
        assert composer.size_label.text().startswith("Too long to send")
        bubbles = len(window.chat.bubbles)
        qtbot.keyClick(composer.input, Qt.Key.Key_Return)
        assert window.generation is None and len(window.chat.bubbles) == bubbles
        assert composer.input.toPlainText() == long  # kept, to be shortened
        assert "Too long to send" in composer.size_label.text()
    finally:
        close_window(window)


def test_pressing_enter_before_the_count_arrives_still_refuses_a_message_too_long(qtbot) -> None:
    window = open_window(qtbot, deterministic_settings(n_ctx=512, max_tokens=48))
    try:
        composer, counter = window.composer, window.token_count
        composer.input.setPlainText("Count me first.")
        qtbot.waitUntil(lambda: counter.size is not None and counter.size.exact)
        composer.input.setPlainText("Far too long for this model. " * 100)
        qtbot.keyClick(composer.input, Qt.Key.Key_Return)  # before the new count
        assert window.generation is None
        assert "Too long to send" in composer.size_label.text()
    finally:
        close_window(window)
