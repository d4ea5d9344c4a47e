"""The app as a separate process (tests/e2e/harness.py): started, driven and stopped from outside.

Unlike the integration tests (test_app*.py, the window inside the test's process), these see only
what a person or the desktop sees: the log, the exit status and the files left in EMBER_HOME.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ember.chats.store import ChatStore
from ember.db import integrity_ok
from ember.paths import ember_paths
from tests.e2e.harness import AppProcess, processes_using

pytestmark = pytest.mark.slow

MODEL_READY_S = 180  # the embedded model loads in seconds; a loaded 2-core box is far slower


def seed_history(home: Path) -> tuple[int, list[tuple[str, str]]]:
    """A chat with two messages, remembered as the one open when the app last closed."""
    paths = ember_paths()
    assert paths.chats_db.is_relative_to(home)
    with ChatStore(paths.chats_db) as store:
        chat = store.create("Kettle notes")
        store.add_message(chat.id, "user", "How long does the kettle take to boil?")
        store.add_message(chat.id, "assistant", "About three minutes for a full kettle.")
        messages = [(m.role, m.content) for m in store.messages(chat.id)]
    paths.config_dir.mkdir(parents=True, exist_ok=True)
    (paths.config_dir / "ui.ini").write_text(f"[chats]\nlast={chat.id}\n", encoding="utf-8")
    return chat.id, messages


def ui_state(home: Path) -> str:
    return (ember_paths().config_dir / "ui.ini").read_text(encoding="utf-8")


def test_the_app_reopens_the_last_chat_loads_its_model_and_exits_cleanly_on_sigterm(
    ember_home: Path,
) -> None:
    chat_id, messages = seed_history(ember_home)
    assert "geometry" not in ui_state(ember_home)

    with AppProcess(ember_home) as app:
        app.wait_for(r"^shown: MainWindow 'Ember'$")
        app.wait_for(rf"^started: chat {chat_id} open$")
        app.wait_for(r"^model ready: ", timeout_s=MODEL_READY_S)
        status = app.terminate()

    assert status == 0, app.log_text()
    app.wait_for(r"^SIGTERM: closing the window$", timeout_s=0)
    app.wait_for(r"^shut down: background tasks stopped, stores closed$", timeout_s=0)
    assert app.unexpected_lines() == []
    # Nothing lost: the history is whole, and the window saved its state on the way out.
    with sqlite3.connect(ember_paths().chats_db) as conn:
        assert integrity_ok(conn)
    with ChatStore(ember_paths().chats_db) as store:
        assert [c.title for c in store.conversations()] == ["Kettle notes"]
        assert [(m.role, m.content) for m in store.messages(chat_id)] == messages
    state = ui_state(ember_home)
    assert f"last={chat_id}" in state and "geometry=" in state
    # Nothing left running: the knowledge helper and parser workers went with the app.
    assert processes_using(ember_home) == []


def test_a_path_on_the_command_line_is_offered_for_indexing_in_the_running_app(
    ember_home: Path, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("# Notes\n\nThe kettle switches itself off.\n", encoding="utf-8")

    with AppProcess(ember_home, [str(notes)]) as app:
        app.wait_for(r"^offering 1 path\(s\) once the window is up$")
        app.wait_for(r"^shown: MainWindow 'Ember'$")
        # The window asks which collection the file goes to, and waits for the person.
        app.wait_for(r"^shown: CollectionDialog ", timeout_s=MODEL_READY_S)
        status = app.terminate()

    assert status == 0, app.log_text()
    app.wait_for(r"^shut down: background tasks stopped, stores closed$", timeout_s=0)
    assert app.unexpected_lines() == []
    assert processes_using(ember_home) == []


def test_a_second_start_hands_its_path_to_the_running_app_and_exits(
    ember_home: Path, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("# Notes\n\nThe kettle switches itself off.\n", encoding="utf-8")

    with AppProcess(ember_home) as first:
        first.wait_for(r"^listening for later starts on ")
        # While llama.cpp loads the model it points stderr at /dev/null, log included: what the
        # first app does meanwhile would go unseen.
        first.wait_for(r"^model ready: ", timeout_s=MODEL_READY_S)
        with AppProcess(ember_home, [str(notes)]) as second:
            assert second.wait() == 0, second.log_text()
        # It opened no window of its own; the running one offers the file for indexing.
        assert not any(line.message.startswith("shown:") for line in second.lines)
        assert "Ember is already running; sent it 1 file." in [line.raw for line in second.lines]
        first.wait_for(r"^another start sent 1 path\(s\)$")
        first.wait_for(r"^shown: CollectionDialog ", timeout_s=MODEL_READY_S)
        status = first.terminate()

    assert status == 0, first.log_text()
    assert first.unexpected_lines() == []
    assert processes_using(ember_home) == []


def test_a_missing_path_is_a_usage_error_and_no_window_opens(
    ember_home: Path, tmp_path: Path
) -> None:
    with AppProcess(ember_home, ["app", str(tmp_path / "gone.md")]) as app:
        status = app.wait()
    assert status == 2
    assert not any(line.message.startswith("shown:") for line in app.lines)
    assert any("no such file or folder" in line.raw for line in app.lines)
