"""The chat to reopen is kept as soon as it is opened, not only at a clean close: after a crash
or ``kill -9`` Ember reopens the chat that was open.

The real window (pytest-qt, offscreen) over the real chat history of
:mod:`tests.unit.ui.test_accessibility`; its model is not loaded."""

from __future__ import annotations

import pytest
from tests.support.ui_app import wait_chats
from tests.unit.ui.test_accessibility import chat_id, window  # noqa: F401  (fixtures)

from ember.chats.store import ChatStore
from ember.paths import ember_paths
from ember.ui.state import UiState

pytestmark = pytest.mark.integration


def test_the_open_chat_is_remembered_before_the_window_closes(qtbot, window, chat_id) -> None:  # noqa: F811
    paths = ember_paths()
    assert UiState(paths).last_conversation == chat_id  # read as the next start would
    with ChatStore(paths.chats_db) as store:
        other = store.create("Another chat").id

    window.open_conversation(other)
    wait_chats(qtbot, window)
    qtbot.waitUntil(lambda: window.conversation_id == other, timeout=10_000)

    assert UiState(paths).last_conversation == other  # the window is still open: no clean close
