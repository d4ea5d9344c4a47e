"""Starting the app: paths from the command line, and a chat history that cannot be opened.

Integration tests: the real window runs inside the test's own process (pytest-qt), so
they can reach into its widgets. The app as a person starts it, a separate `ember`
process, is tested in tests/e2e/test_app_process.py.
"""

from __future__ import annotations

import gc
import hashlib
from pathlib import Path

import pytest

from ember.chats.store import ChatStore
from ember.paths import ember_paths
from ember.ui.qt import QApplication, Qt, QTimer
from tests.support.ui_app import (
    close_window,
    deterministic_settings,
    find_dialog,
    open_window,
)

pytestmark = [pytest.mark.slow, pytest.mark.integration]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    manuals = tmp_path / "manuals"
    manuals.mkdir()
    (manuals / "kettle.md").write_text(
        "# Kettle\n\nThe kettle switches itself off after boiling.\n", encoding="utf-8"
    )
    return manuals


def _collection_dialog():  # type: ignore[no-untyped-def]
    for widget in QApplication.topLevelWidgets():
        if widget.objectName() == "CollectionDialog" and widget.isVisible():
            return widget
    return None


def test_paths_given_at_start_are_offered_for_indexing(qtbot, folder: Path) -> None:
    window = open_window(qtbot, deterministic_settings(), wait_for_model=False, open_paths=[folder])
    try:
        qtbot.waitUntil(lambda: _collection_dialog() is not None, timeout=60_000)
        dialog = _collection_dialog()
        assert dialog.collection() == "manuals"  # suggested from the folder's name
        assert window.paths_at_start == []  # offered once, not again
        dialog.reject()
        assert window.indexing is None  # nothing indexed without the person's say-so
    finally:
        qtbot.waitUntil(lambda: not window.model_loading, timeout=60_000)
        close_window(window)


def test_run_app_hands_its_paths_to_the_window(qtbot, folder: Path) -> None:
    """``ember PATH...`` → ``run_app(paths=...)``: the real entry point, its event loop included."""
    from ember.ui.app import run_app

    seen: list[str] = []
    windows: list[object] = []
    finished = False

    def look() -> None:
        if finished:
            return
        dialog = _collection_dialog()
        if dialog is None:
            QTimer.singleShot(100, look)
            return
        seen.append(dialog.collection())
        window = dialog.parent()
        windows.append(window)
        dialog.reject()
        window.close()  # the last window closing ends run_app

    QTimer.singleShot(100, look)
    bound = QTimer()  # should the dialog never come; stopped after, so no later test sees it
    bound.setSingleShot(True)
    bound.timeout.connect(QApplication.quit)
    bound.start(90_000)
    try:
        assert run_app([], paths=[folder]) == 0
    finally:
        finished = True
        bound.stop()
    assert seen == ["manuals"]
    assert windows[0]._shut_down  # run_app stopped its workers on the way out


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _damaged_history() -> Path:
    """A real chat history with many chats, then cut in half (as a crashed disk might)."""
    path = ember_paths().ensure().chats_db
    with ChatStore(path) as store:
        for number in range(30):
            chat = store.create(f"Chat {number}")
            store.add_message(chat.id, "user", f"Question {number} " + "words " * 200)
            store.add_message(chat.id, "assistant", f"Answer {number} " + "words " * 200)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def test_a_damaged_chat_history_is_named_in_the_window_and_left_untouched(qtbot) -> None:
    path = _damaged_history()
    before = _digest(path)
    files_before = sorted(p.name for p in path.parent.glob("chats*"))
    window = open_window(qtbot, deterministic_settings())
    try:
        dialog = find_dialog(window, "ErrorDialog")
        assert dialog is not None and dialog.isVisible()
        assert str(path) in dialog.text() and "left untouched" in dialog.text()
        assert window.history_error is not None
        assert "chat history" in window.composer.reason.text()
        assert not window.sidebar.chats.isEnabled()
        assert "Chat history unavailable" in window.sidebar.no_results.text()

        # The model loaded, yet nothing is sent (there is nowhere to keep it).
        window.composer.input.setPlainText("Hello?")
        qtbot.keyClick(window.composer.input, Qt.Key.Key_Return)
        assert window.generation is None and window.conversation_id is None
        window.sidebar.search.setText("Chat")  # searching must not reopen the file either
        qtbot.wait(300)
    finally:
        close_window(window)
    # ember.db.connect leaves its failed connection to the garbage collector (which then removes
    # SQLite's empty -wal/-shm side files); collect now instead of waiting for it.
    gc.collect()
    assert _digest(path) == before
    assert sorted(p.name for p in path.parent.glob("chats*")) == files_before  # no new history


def test_the_chat_history_opens_off_the_gui_thread_and_then_fills_the_window(
    qtbot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opening checks every page of the history: seconds for a large one on a cold disk."""
    import threading

    import ember.chats.store as chat_store

    path = ember_paths().ensure().chats_db
    with ChatStore(path) as store:
        chat = store.create("Descaling the kettle")
        store.add_message(chat.id, "user", "How do I descale it?")
    checked_on: list[str] = []
    real_check = chat_store.check_health

    def watched_check(*args, **kwargs):  # type: ignore[no-untyped-def]
        checked_on.append(threading.current_thread().name)
        return real_check(*args, **kwargs)

    monkeypatch.setattr(chat_store, "check_health", watched_check)
    window = open_window(qtbot, deterministic_settings(), wait_for_model=False)
    try:
        assert checked_on and checked_on[0] != threading.main_thread().name
        chats = window.sidebar.chats
        assert [chats.item(n).text() for n in range(chats.count())] == ["Descaling the kettle"]
        assert window.history_error is None
        assert "chat history" not in window.composer.reason.text()
    finally:
        qtbot.waitUntil(lambda: not window.model_loading, timeout=60_000)
        close_window(window)
