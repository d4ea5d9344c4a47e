"""Smaller things a person notices: drafts stay with their chat, shortcuts, copy feedback, the
theme setting, the message's token count before sending."""

from __future__ import annotations

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
    qtbot.waitUntil(lambda: window.conversation_id == chat_id and not window.composer.blocked_reason)


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
