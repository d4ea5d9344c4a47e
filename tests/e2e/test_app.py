"""The desktop app, driven like a person would: real window, real embedded model, real stores.

Integration tests: the real window runs inside the test's own process (pytest-qt), so
they can reach into its widgets. The app as a person starts it, a separate `ember`
process, is tested in tests/e2e/test_app_process.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ember.chats.store import ChatStore
from ember.paths import ember_paths
from ember.ui.qt import QDesktopServices, QMessageBox, Qt, QUrl
from tests.support.ui_app import (
    ANSWER_TIMEOUT_MS,
    ConnectionRecorder,
    UrlCatcher,
    close_window,
    deterministic_settings,
    drop_paths,
    find_dialog,
    open_window,
    send_and_wait,
    wait_chats,
)

pytestmark = [pytest.mark.slow, pytest.mark.integration]


@pytest.fixture
def window(qtbot):
    win = open_window(qtbot, deterministic_settings())
    yield win
    close_window(win)


def _answers(window):
    return [b for b in window.chat.bubbles if b.data.role == "assistant"]


def test_a_message_gets_a_streamed_answer(qtbot, window) -> None:
    tokens: list[object] = []
    original = window.generator._on_stream_event
    window.generator._on_stream_event = lambda event: (tokens.append(event), original(event))
    send_and_wait(qtbot, window, "What is the capital of France?")

    answer = _answers(window)[-1]
    assert answer.data.state == "done"
    assert answer.data.text.strip()
    assert answer.body.document().toPlainText().strip()
    assert len(tokens) > 3  # it arrived piece by piece, not all at once
    assert "tok/s" in answer.meta.text() and "first token" in answer.meta.text()
    stored = window.core.store.messages(window.conversation_id)
    assert [m.role for m in stored] == ["user", "assistant"]
    assert stored[1].content == answer.data.text


def test_stop_keeps_the_partial_answer(qtbot, window) -> None:
    window.core.apply_settings(deterministic_settings(max_tokens=400))
    window.composer.input.setPlainText(
        "Write a long story about a dragon who learns to bake bread."
    )
    qtbot.keyClick(window.composer.input, Qt.Key.Key_Return)
    # The answer's bubble appears a moment after the question's (a turn of the event loop later).
    qtbot.waitUntil(
        lambda: bool(_answers(window)) and len(_answers(window)[-1].data.text) > 20,
        timeout=ANSWER_TIMEOUT_MS,
    )
    qtbot.keyClick(window.composer.input, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: window.generation is None, timeout=ANSWER_TIMEOUT_MS)

    answer = _answers(window)[-1]
    assert answer.data.state == "cancelled"
    assert len(answer.data.text) > 20
    assert answer.state_label.text() == "Stopped"
    stored = window.core.store.messages(window.conversation_id)[-1]
    assert stored.state == "cancelled" and stored.content == answer.data.text
    assert window.composer.button.text() == "Send"


def test_regenerate_replaces_the_last_answer(qtbot, window) -> None:
    send_and_wait(qtbot, window, "Say hello.")
    first = _answers(window)[-1]
    assert first.regenerate_button.isVisibleTo(window)
    first.regenerate_button.click()
    qtbot.waitUntil(lambda: window.generation is None, timeout=ANSWER_TIMEOUT_MS)
    stored = window.core.store.messages(window.conversation_id)
    assert [m.role for m in stored] == ["user", "assistant"]
    assert _answers(window)[-1] is not first


def test_editing_a_message_resends_it(qtbot, window) -> None:
    send_and_wait(qtbot, window, "Name a color.")
    mine = window.chat.bubbles[0]
    mine.edit_button.click()
    assert window.composer.editing_message_id == mine.data.message_id
    send_and_wait(qtbot, window, "Name a fruit.")
    stored = window.core.store.messages(window.conversation_id)
    assert (stored[0].role, stored[0].content) == ("user", "Name a fruit.")
    assert len(stored) == 2


def test_conversations_can_be_renamed_deleted_and_restored(qtbot, window) -> None:
    send_and_wait(qtbot, window, "Hello there")
    chat_id = window.conversation_id
    assert window.sidebar.conversation_ids() == [chat_id]

    window.rename_to(chat_id, "Greetings")
    wait_chats(qtbot, window)
    assert window.sidebar.chats.item(0).text() == "Greetings"
    assert window.title_label.text() == "Greetings"

    window.delete_conversation(chat_id)
    assert window.conversation_id is None  # at once; the history catches up off the GUI thread
    wait_chats(qtbot, window)
    assert window.sidebar.conversation_ids() == []
    assert window.undo_bar.isVisibleTo(window)
    assert window.conversation_id is None

    window.undo_button.click()
    wait_chats(qtbot, window)
    assert window.sidebar.conversation_ids() == [chat_id]
    assert window.conversation_id == chat_id
    assert [b.data.role for b in window.chat.bubbles] == ["user", "assistant"]


def test_search_finds_chats_by_their_text(qtbot, window) -> None:
    send_and_wait(qtbot, window, "Tell me about pelicans")
    window.new_chat()
    send_and_wait(qtbot, window, "Hello")
    window.sidebar.search.setText("pelicans")
    qtbot.waitUntil(lambda: len(window.sidebar.conversation_ids()) == 1, timeout=3000)
    conversation = window.core.store.get(window.sidebar.conversation_ids()[0])
    assert conversation.title == "Tell me about pelicans"


def test_a_chat_exports_to_markdown_and_json(qtbot, window, tmp_path) -> None:
    send_and_wait(qtbot, window, "Hello")
    window.export_to(window.conversation_id, "markdown", tmp_path / "chat.md")
    window.export_to(window.conversation_id, "json", tmp_path / "chat.json")
    wait_chats(qtbot, window)
    assert "## You" in (tmp_path / "chat.md").read_text(encoding="utf-8")
    assert json.loads((tmp_path / "chat.json").read_text(encoding="utf-8"))["messages"]


def test_a_restarted_app_reopens_the_last_conversation(qtbot) -> None:
    first = open_window(qtbot, deterministic_settings())
    send_and_wait(qtbot, first, "Remember the word kumquat.")
    chat_id = first.conversation_id
    close_window(first)

    second = open_window(qtbot, wait_for_model=False)
    try:
        assert second.conversation_id == chat_id
        assert second.chat.bubbles[0].data.text == "Remember the word kumquat."
        assert second.chat.bubbles[1].data.role == "assistant"
        # Geometry and splitter come back too (the offscreen screen clamps sizes, so compare
        # what was saved rather than pixels).
        assert second.ui_state.geometry is not None and second.ui_state.splitter is not None
    finally:
        qtbot.waitUntil(lambda: not second.model_loading, timeout=60_000)
        close_window(second)


def test_a_broken_gguf_dropped_on_the_window_shows_an_error_and_the_app_keeps_working(
    qtbot, window, tmp_path
) -> None:
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + os.urandom(256))
    drop_paths(window, [bad])
    qtbot.waitUntil(lambda: find_dialog(window, "ErrorDialog") is not None, timeout=30_000)
    dialog = find_dialog(window, "ErrorDialog")
    assert "broken.gguf" in dialog.text()
    dialog.button(QMessageBox.StandardButton.Ok).click()

    assert window.core.loaded is not None and window.composer.blocked_reason is None
    send_and_wait(qtbot, window, "Say hi.")
    assert _answers(window)[-1].data.state == "done"


def _store_answer(text: str) -> int:
    store = ChatStore(ember_paths().ensure().chats_db)
    chat = store.create("Rendering")
    store.add_message(chat.id, "user", "show me")
    store.add_message(chat.id, "assistant", text, model="test")
    store.close()
    return chat.id


def test_images_and_img_tags_in_an_answer_load_nothing(qtbot) -> None:
    with ConnectionRecorder().running() as listener:
        url = f"http://127.0.0.1:{listener.port}/beacon.png"
        chat_id = _store_answer(
            f'Here: ![x]({url}?q=secret)\n\n<img src="{url}">\n\n![ref][r]\n\n[r]: {url}'
        )
        window = open_window(qtbot, deterministic_settings())
        try:
            window.open_conversation(chat_id)
            wait_chats(qtbot, window)
            answer = _answers(window)[-1]
            qtbot.wait(500)  # give any fetch the time to happen
            assert listener.connections == 0
            assert answer.body.resource_requests == []
            assert "<img src=" in answer.body.document().toPlainText()
        finally:
            close_window(window)
    assert listener.connections == 0


def test_raw_html_in_an_answer_is_shown_as_text(qtbot) -> None:
    chat_id = _store_answer("Bold: <b>not bold</b> <a href='http://127.0.0.1:9/'>link</a>")
    window = open_window(qtbot, wait_for_model=False)
    try:
        window.open_conversation(chat_id)
        wait_chats(qtbot, window)
        shown = _answers(window)[-1].body.document().toPlainText()
        assert "<b>not bold</b>" in shown
        assert "<a href='http://127.0.0.1:9/'>link</a>" in shown
    finally:
        qtbot.waitUntil(lambda: not window.model_loading, timeout=60_000)
        close_window(window)


def test_a_link_opens_only_after_confirming_the_url(qtbot, window) -> None:
    catcher = UrlCatcher()
    QDesktopServices.setUrlHandler("http", catcher, "open")
    try:
        url = QUrl("http://127.0.0.1:9/page?q=1")
        window.request_open_link(url)
        dialog = find_dialog(window, "ConfirmLink")
        assert dialog.informativeText() == url.toString()
        dialog.button(QMessageBox.StandardButton.Cancel).click()
        assert catcher.opened == []

        window.request_open_link(url)
        find_dialog(window, "ConfirmLink").button(QMessageBox.StandardButton.Open).click()
        assert [u.toString() for u in catcher.opened] == [url.toString()]
    finally:
        QDesktopServices.unsetUrlHandler("http")


def test_the_window_shows_before_heavy_libraries_load(tmp_path) -> None:
    env = {**os.environ, "EMBER_STARTUP_PROBE": "1", "EMBER_HOME": str(tmp_path)}
    code = "import sys; from ember.ui.app import run_app; sys.exit(run_app([]))"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["heavy"] == []


def test_settings_are_validated_saved_and_applied(qtbot, window) -> None:
    dialog = window.open_settings()
    dialog.temperature.setValue(0.3)
    dialog.max_tokens.setValue(5000)  # larger than the context size: refused
    dialog.n_ctx.setValue(2048)
    dialog.accept()
    assert dialog.isVisible() and "max_tokens" in dialog.error.text()
    dialog.max_tokens.setValue(64)
    dialog.repeat_penalty.setValue(1.25)
    dialog.preset.setCurrentText("Concise")
    dialog.accept()
    from ember.config import PROMPT_PRESETS, load_settings

    saved = load_settings()
    assert saved.temperature == pytest.approx(0.3)
    assert saved.repeat_penalty == pytest.approx(1.25)
    assert saved.system_prompt == PROMPT_PRESETS["Concise"]
    assert window.core.assistant.settings.max_tokens == 64
    assert Path(ember_paths().config_file).is_file()


def test_the_settings_dialog_fits_a_small_laptop_screen(qtbot, window) -> None:
    dialog = window.open_settings()
    try:
        assert dialog.sizeHint().height() <= 700
    finally:
        dialog.reject()


def test_copy_puts_the_whole_answer_on_the_clipboard(qtbot, window) -> None:
    from ember.ui.qt import QApplication

    send_and_wait(qtbot, window, "Say hello.")
    answer = _answers(window)[-1]
    QApplication.clipboard().clear()
    answer.copy_button.click()
    assert QApplication.clipboard().text() == answer.data.text


def test_a_code_block_s_copy_link_copies_just_that_code(qtbot) -> None:
    from ember.ui.qt import QApplication

    chat_id = _store_answer(
        "Use this:\n\n```python\nprint('hi')\n```\n\nAnd this:\n\n```\nls -l\n```"
    )
    window = open_window(qtbot, wait_for_model=False)
    try:
        window.open_conversation(chat_id)
        wait_chats(qtbot, window)
        answer = _answers(window)[-1]
        assert "Copy code" in answer.body.document().toPlainText()
        answer._on_link(QUrl("ember-copy:1"))  # what clicking the second block's link sends
        assert QApplication.clipboard().text().strip() == "ls -l"
    finally:
        qtbot.waitUntil(lambda: not window.model_loading, timeout=60_000)
        close_window(window)


def test_search_finds_chats_by_their_title(qtbot) -> None:
    store = ChatStore(ember_paths().ensure().chats_db)
    for title in ("Quarterly budget review", "Holiday plans"):
        chat = store.create(title)
        store.add_message(chat.id, "user", "hello")
    store.close()
    window = open_window(qtbot, wait_for_model=False)
    try:
        assert len(window.sidebar.conversation_ids()) == 2
        window.sidebar.search.setText("budget")
        qtbot.waitUntil(lambda: len(window.sidebar.conversation_ids()) == 1, timeout=3000)
        assert window.sidebar.chats.item(0).text() == "Quarterly budget review"
        window.sidebar.search.setText("nothing-like-this")
        qtbot.waitUntil(lambda: window.sidebar.conversation_ids() == [], timeout=3000)
        assert window.sidebar.no_results.isVisibleTo(window)
    finally:
        qtbot.waitUntil(lambda: not window.model_loading, timeout=60_000)
        close_window(window)


def test_the_window_size_and_splitter_come_back_as_they_were_left(qtbot) -> None:
    first = open_window(qtbot, wait_for_model=False)
    # Smaller than the offscreen screen (800 x 800), so nothing is clamped on the way back.
    first.resize(780, 560)
    first.splitter.setSizes([250, 530])
    qtbot.wait(50)
    size, sizes = first.size(), first.splitter.sizes()
    qtbot.waitUntil(lambda: not first.model_loading, timeout=60_000)
    close_window(first)

    second = open_window(qtbot, wait_for_model=False)
    try:
        assert second.size() == size
        assert second.splitter.sizes() == sizes
    finally:
        qtbot.waitUntil(lambda: not second.model_loading, timeout=60_000)
        close_window(second)


def test_the_status_bar_names_the_model_and_its_backend(qtbot, window) -> None:
    loaded = window.core.loaded
    assert loaded is not None
    assert loaded.name in window.model_label.text() and "llama.cpp" in window.model_label.text()
    assert window.offline_pill.text() == "OFFLINE"


def test_sending_waits_while_the_model_loads_and_says_why(qtbot) -> None:
    window = open_window(qtbot, deterministic_settings(), wait_for_model=False)
    try:
        window.load_model()  # as switching models does
        assert window.model_loading
        assert window.composer.reason.text().startswith("Loading")
        window.composer.input.setPlainText("Hello?")
        qtbot.keyClick(window.composer.input, Qt.Key.Key_Return)
        assert window.generation is None
        assert window.composer.input.toPlainText() == "Hello?"  # kept for when it can send
        qtbot.waitUntil(lambda: not window.model_loading, timeout=60_000)
        assert window.composer.reason.text() == ""
    finally:
        qtbot.waitUntil(lambda: not window.model_loading, timeout=60_000)
        close_window(window)


def test_ctrl_z_brings_back_a_deleted_chat(qtbot) -> None:
    store = ChatStore(ember_paths().ensure().chats_db)
    chat = store.create("Keep me")
    store.add_message(chat.id, "user", "hello")
    store.close()
    window = open_window(qtbot, wait_for_model=False)
    try:
        window.activateWindow()
        qtbot.waitActive(window)
        window.open_conversation(chat.id)
        wait_chats(qtbot, window)
        window.delete_conversation(chat.id)
        wait_chats(qtbot, window)
        assert window.sidebar.conversation_ids() == []
        focused = window.focusWidget() or window  # the composer, after a delete
        qtbot.keyClick(focused, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        wait_chats(qtbot, window)
        assert window.sidebar.conversation_ids() == [chat.id]
        assert window.conversation_id == chat.id and not window.undo_bar.isVisibleTo(window)
    finally:
        qtbot.waitUntil(lambda: not window.model_loading, timeout=60_000)
        close_window(window)


def _chat_with_one_message(title: str) -> int:
    store = ChatStore(ember_paths().ensure().chats_db)
    chat = store.create(title)
    store.add_message(chat.id, "user", "something private")
    store.close()
    return chat.id


def _stored(chat_id: int):  # type: ignore[no-untyped-def]
    with ChatStore(ember_paths().chats_db) as store:
        return store.get(chat_id)


def test_a_deleted_chat_is_erased_once_undo_is_no_longer_offered(qtbot) -> None:
    first, second = _chat_with_one_message("First"), _chat_with_one_message("Second")
    window = open_window(qtbot, wait_for_model=False)
    try:
        window.delete_conversation(first)
        wait_chats(qtbot, window)
        assert _stored(first) is not None  # still in the trash: Undo can bring it back
        assert _stored(first).deleted
        window.delete_conversation(second)  # only the newest deletion can be undone
        wait_chats(qtbot, window)
        assert _stored(first) is None
        window._undo_timer.timeout.emit()  # the undo offer runs out
        assert not window.undo_bar.isVisibleTo(window)
        wait_chats(qtbot, window)
        assert _stored(second) is None
    finally:
        qtbot.waitUntil(lambda: not window.model_loading, timeout=60_000)
        close_window(window)


def test_closing_the_window_erases_a_chat_still_offered_for_undo(qtbot) -> None:
    chat_id = _chat_with_one_message("Private")
    window = open_window(qtbot, wait_for_model=False)
    window.delete_conversation(chat_id)
    qtbot.waitUntil(lambda: not window.model_loading, timeout=60_000)
    close_window(window)
    assert _stored(chat_id) is None


@pytest.mark.parametrize("leave", ["new chat", "another chat"])
def test_leaving_a_chat_while_its_answer_streams_stops_it_and_send_still_works(
    qtbot, window, leave: str
) -> None:
    send_and_wait(qtbot, window, "Say hello.")
    earlier = window.conversation_id
    window.core.apply_settings(deterministic_settings(max_tokens=400))
    window.new_chat()
    window.composer.input.setPlainText("Write a long story about a lighthouse.")
    qtbot.keyClick(window.composer.input, Qt.Key.Key_Return)
    if leave == "new chat":
        window.new_chat()
    else:
        window.open_conversation(earlier)
    qtbot.waitUntil(lambda: window.generation is None, timeout=ANSWER_TIMEOUT_MS)
    wait_chats(qtbot, window)
    qtbot.wait(100)  # past the moment the abandoned answer's bubble would have appeared
    shown = [b.data.text for b in _answers(window)]
    assert all("lighthouse" not in text.lower() for text in shown)  # nothing of it leaked here
    assert window.composer.button.text() == "Send"

    send_and_wait(qtbot, window, "Say hi.")  # Send works again
    assert _answers(window)[-1].data.state == "done"


def test_a_damaged_settings_file_is_named_and_the_app_runs_on_defaults(qtbot) -> None:
    from ember.paths import ember_paths

    config = ember_paths().ensure().config_file
    config.write_text('temperature = "hot"\n', encoding="utf-8")
    window = open_window(qtbot)
    try:
        qtbot.waitUntil(lambda: find_dialog(window, "ErrorDialog") is not None, timeout=30_000)
        dialog = find_dialog(window, "ErrorDialog")
        assert "temperature" in dialog.text() and "default settings" in dialog.text()
        dialog.button(QMessageBox.StandardButton.Ok).click()
        assert window.core.loaded is not None  # the embedded model, on the defaults
        assert config.read_text(encoding="utf-8") == 'temperature = "hot"\n'  # left as it was
    finally:
        close_window(window)
