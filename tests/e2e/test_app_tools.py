"""Tools in the window: the real window, the real embedded model at temperature 0, the real chat
history, a real MCP server over stdio (pytest-qt, offscreen).

- The calculator (a read-only built-in, no card): its step shows in the answer, with the exact
  arguments and the result, the answer quotes the result, and the step is there after a restart.
- An MCP server's ``add`` (asks first): the card shows the tool, the server and the exact
  arguments; Deny runs nothing (the server records every call it gets); Always allow runs it,
  is saved in the settings file, and the next call runs without a card.
- Switching chats or closing the window while the card waits: the answer ends, nothing runs and
  the step is stored as cancelled; closing the window also ends the MCP server's process.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from ember.config import load_settings
from ember.paths import ember_paths
from ember.tools.mcp_process import process_alive
from ember.ui.qt import Qt
from tests.support.ui_app import (
    ANSWER_TIMEOUT_MS,
    close_window,
    deterministic_settings,
    open_window,
    open_window_on_chat,
    send_and_wait,
    wait_chats,
)

pytestmark = [pytest.mark.slow, pytest.mark.integration]

SERVER = Path(__file__).resolve().parents[1] / "support" / "mcp_tools_server.py"


def _answer(window):  # type: ignore[no-untyped-def]
    return next(b for b in reversed(window.chat.bubbles) if b.data.role == "assistant")


def _choose_tool(qtbot, window, tool: str) -> None:  # type: ignore[no-untyped-def]
    """Tools ▾ → ``tool``, as the person picks it (the menu lists the tools off the GUI
    thread; an MCP server starts for it)."""
    tools = window.chat_tools
    tools.list_tools()
    qtbot.waitUntil(lambda: tool in [i.name for i in tools.infos], timeout=60_000)
    action = next(a for a in tools.menu.actions() if a.isCheckable() and a.data() == tool)
    action.trigger()
    assert window.generator.chosen_tools() == (tool,)


def _records(record: Path) -> list[dict]:
    """What the test server recorded: one entry per start and per call."""
    if not record.exists():
        return []
    return [json.loads(line) for line in record.read_text(encoding="utf-8").splitlines()]


def _calls(record: Path) -> list[dict]:
    return [line for line in _records(record) if line["tool"] != "start"]


def test_the_calculator_step_shows_in_the_answer_and_after_a_restart(qtbot) -> None:  # type: ignore[no-untyped-def]
    window = open_window(qtbot, deterministic_settings(max_tokens=48))
    try:
        _choose_tool(qtbot, window, "calculator")
        send_and_wait(qtbot, window, "What is 1234 * 5678? Use the calculator.")
        answer = _answer(window)
        [row] = answer.timeline.rows
        assert row.step.tool == "calculator" and row.step.state == "done"
        assert row.toggle.text().startswith("calculator · built-in · ")
        row.toggle.click()
        assert json.loads(row.arguments_box.toPlainText()) == {"expression": "1234 * 5678"}
        assert row.result_box is not None and row.result_box.toPlainText() == "7006652"
        # The step sits in the answer's text: what follows it quotes the tool's result.
        assert "7006652" in answer.timeline.texts[0].toPlainText()
        assert "7006652" in answer.data.text
        chat_id = window.conversation_id
        assert chat_id is not None
        wait_chats(qtbot, window)
    finally:
        close_window(window)

    window = open_window_on_chat(qtbot, chat_id)  # a restart on the same data
    try:
        [row] = _answer(window).timeline.rows
        assert (row.step.tool, row.step.state, row.step.result) == ("calculator", "done", "7006652")
        assert "7006652" in _answer(window).timeline.texts[0].toPlainText()
        assert window.chat_tools.tools == ("calculator",)  # the chat keeps its tools
    finally:
        close_window(window)


def _ask_add(qtbot, window, record: Path, decision: str | None):  # type: ignore[no-untyped-def]
    """Ask for 2 + 3 with the add tool; answer the card with ``decision`` (None: expect no
    card). Returns the cards shown."""
    cards = []
    generator = window.generator
    generator.approver.requested.connect(cards.append)
    try:
        window.composer.input.setPlainText("What is 2 + 3? Use the add tool.")
        qtbot.keyClick(window.composer.input, Qt.Key.Key_Return)
        if decision is not None:
            qtbot.waitUntil(lambda: bool(generator._cards), timeout=ANSWER_TIMEOUT_MS)
            [card] = generator._cards
            assert card.isVisible()
            assert card.title.text() == "Allow “add” from tests to run?"
            assert json.loads(card.arguments.toPlainText()) == {"a": 2, "b": 3}
            assert _calls(record) == []  # nothing runs while the card waits
            button = {"deny": card.deny, "always": card.always}[decision]
            button.click()
        qtbot.waitUntil(lambda: window.generation is None, timeout=ANSWER_TIMEOUT_MS)
        wait_chats(qtbot, window)
    finally:
        generator.approver.requested.disconnect(cards.append)
    return cards


def test_an_mcp_tool_asks_first_deny_runs_nothing_and_always_allow_is_kept(  # type: ignore[no-untyped-def]
    qtbot, tmp_path
) -> None:
    record = tmp_path / "calls.jsonl"
    server = {
        "command": sys.executable,
        "args": [str(SERVER)],
        "env": {"MCP_TEST_RECORD": str(record)},
    }
    config = ember_paths().ensure().mcp_config
    config.write_text(json.dumps({"mcpServers": {"tests": server}}), encoding="utf-8")
    window = open_window(qtbot, deterministic_settings(max_tokens=48))
    try:
        _choose_tool(qtbot, window, "add")

        # Deny: the server never gets the call, and the step says so.
        _ask_add(qtbot, window, record, "deny")
        [row] = _answer(window).timeline.rows
        assert (row.step.tool, row.step.server, row.step.state) == ("add", "tests", "denied")
        assert row.state_label.text() == "denied — not run"
        assert _calls(record) == []

        # Always allow: it runs now (recorded), and the choice is saved with the settings.
        _ask_add(qtbot, window, record, "always")
        [row] = _answer(window).timeline.rows
        assert (row.step.state, row.step.result) == ("done", "5")
        row.toggle.click()
        assert row.result_box is not None and row.result_box.toPlainText() == "5"
        assert [c["arguments"] for c in _calls(record)] == [{"a": 2, "b": 3}]
        assert "tests/add" in window.core.settings.tools_always_allowed
        assert "tests/add" in load_settings().tools_always_allowed  # in the settings file

        # A third time: no card, it just runs.
        assert _ask_add(qtbot, window, record, None) == []
        [row] = _answer(window).timeline.rows
        assert (row.step.state, row.step.result) == ("done", "5")
        assert len(_calls(record)) == 2
    finally:
        close_window(window)


def _card_waiting(qtbot, tmp_path):  # type: ignore[no-untyped-def]
    """A window whose answer waits at the add tool's card; the server's call record."""
    record = tmp_path / "calls.jsonl"
    server = {
        "command": sys.executable,
        "args": [str(SERVER)],
        "env": {"MCP_TEST_RECORD": str(record)},
    }
    config = ember_paths().ensure().mcp_config
    config.write_text(json.dumps({"mcpServers": {"tests": server}}), encoding="utf-8")
    window = open_window(qtbot, deterministic_settings(max_tokens=48))
    _choose_tool(qtbot, window, "add")
    window.composer.input.setPlainText("What is 2 + 3? Use the add tool.")
    qtbot.keyClick(window.composer.input, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: bool(window.generator._cards), timeout=ANSWER_TIMEOUT_MS)
    return window, record


def _stored_steps(chat_id: int) -> list:  # type: ignore[type-arg]
    from ember.chats.store import ChatStore

    with ChatStore(ember_paths().chats_db) as store:
        return [s for m in store.messages(chat_id) for s in m.steps]


def test_switching_chats_while_a_card_waits_runs_nothing_and_ends_the_answer(  # type: ignore[no-untyped-def]
    qtbot, tmp_path
) -> None:
    window, record = _card_waiting(qtbot, tmp_path)
    try:
        chat_id = window.conversation_id
        assert chat_id is not None
        window.new_chat()  # the card's answer goes away with its chat
        qtbot.waitUntil(lambda: window.generation is None, timeout=ANSWER_TIMEOUT_MS)
        assert window.generator._cards == []
        assert not window.composer.generating  # Send works again
        wait_chats(qtbot, window)
        [step] = _stored_steps(chat_id)
        assert (step.tool, step.state) == ("add", "cancelled")
        assert _calls(record) == []
    finally:
        close_window(window)


def test_closing_the_window_while_a_card_waits_runs_nothing(qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    window, record = _card_waiting(qtbot, tmp_path)
    chat_id = window.conversation_id
    assert chat_id is not None
    [server_pid] = _started(record)
    assert process_alive(server_pid)
    close_window(window)  # returns: the worker waiting on the card ends
    [step] = _stored_steps(chat_id)
    assert (step.tool, step.state) == ("add", "cancelled")
    assert _calls(record) == []
    assert not process_alive(server_pid)  # closing the window ended the MCP server


def _started(record: Path) -> list[int]:
    """The pids of the test server's starts, as it recorded them."""
    return [line["pid"] for line in _records(record) if line["tool"] == "start"]


def test_esc_while_a_card_waits_is_deny_and_the_answer_goes_on(qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Esc meant "stop the whole answer" (empty, "Stopped"); as in a dialog it is now Deny.
    window, record = _card_waiting(qtbot, tmp_path)
    try:
        generator = window.generator
        [card] = generator._cards
        card.allow_once.setFocus()  # (the card takes the focus when it appears)
        qtbot.waitUntil(card.allow_once.hasFocus, timeout=5000)
        row = _answer(window).timeline.rows[0]
        assert row.step.state == "approval" and not row.cancel_button.isVisible()  # Deny only
        qtbot.keyClick(card.allow_once, Qt.Key.Key_Escape)
        qtbot.waitUntil(lambda: window.generation is None, timeout=ANSWER_TIMEOUT_MS)
        answer = _answer(window)
        assert answer.data.state == "done"  # the answer went on after the denied call
        assert answer.timeline.rows[0].step.state == "denied"
        assert _calls(record) == []

        # Esc in the message box while a card waits: the same Deny.
        wait_chats(qtbot, window)
        window.composer.input.setPlainText("What is 2 + 3? Use the add tool.")
        qtbot.keyClick(window.composer.input, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: bool(generator._cards), timeout=ANSWER_TIMEOUT_MS)
        window.composer.input.setFocus()
        qtbot.keyClick(window.composer.input, Qt.Key.Key_Escape)
        qtbot.waitUntil(lambda: window.generation is None, timeout=ANSWER_TIMEOUT_MS)
        assert _answer(window).data.state == "done"
        assert _answer(window).timeline.rows[0].step.state == "denied"

        # The Stop button still stops the whole answer.
        wait_chats(qtbot, window)
        window.composer.input.setPlainText("What is 2 + 3? Use the add tool.")
        qtbot.keyClick(window.composer.input, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: bool(generator._cards), timeout=ANSWER_TIMEOUT_MS)
        window.composer.button.click()
        qtbot.waitUntil(lambda: window.generation is None, timeout=ANSWER_TIMEOUT_MS)
        assert _answer(window).data.state == "cancelled"
        assert _answer(window).timeline.rows[0].step.state == "cancelled"
        assert _calls(record) == []
    finally:
        close_window(window)
