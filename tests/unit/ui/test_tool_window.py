"""The real window over a real chat history: a stored answer's tool steps show between its text
when the chat is opened (again); its thinking is a collapsed block the chat can hide (kept with
the chat); the Tools menu's choice is kept with the chat. No model is loaded (none is needed)."""

from __future__ import annotations

import json

import pytest
from tests.support.ui_app import close_window, open_window_on_chat, settle, wait_chats

from ember.chats.store import ChatStore
from ember.paths import ember_paths

pytestmark = pytest.mark.integration

BEFORE = "Let me work it out. "
AFTER = "1234 * 5678 = 7006652."
THINKING = "The user wants a product; the calculator is exact."


@pytest.fixture
def chat_id() -> int:
    with ChatStore(ember_paths().ensure().chats_db) as store:
        chat = store.create("Arithmetic")
        store.add_message(chat.id, "user", "What is 1234 * 5678? Use the calculator.")
        writer = store.begin_reply(chat.id, model="SmolLM2")
        writer.think(THINKING)
        writer.append(BEFORE)
        step = store.add_step(
            writer.message_id,
            tool="calculator",
            server="built-in",
            arguments=json.dumps({"expression": "1234 * 5678"}),
            state="running",
            call_id="call-1",
            text_offset=len(BEFORE),
            decision="auto",
        )
        store.update_step(step.id, state="done", result="7006652", finished=step.started + 0.4)
        writer.append(AFTER)
        writer.finish()
        return chat.id


def _answer(window):  # type: ignore[no-untyped-def]
    return next(b for b in reversed(window.chat.bubbles) if b.data.role == "assistant")


def test_a_stored_step_shows_between_the_text_when_the_chat_opens(qtbot, chat_id) -> None:  # type: ignore[no-untyped-def]
    for _reopen in range(2):  # and again in a new window (what a restart shows)
        window = open_window_on_chat(qtbot, chat_id)
        answer = _answer(window)
        assert answer.body.toPlainText().strip() == BEFORE.strip()
        [row] = answer.timeline.rows
        assert row.toggle.text() == "calculator · built-in · 0.4 s"
        assert answer.timeline.texts[0].toPlainText().strip() == AFTER
        row.toggle.click()
        assert row.result_box is not None and row.result_box.toPlainText() == "7006652"
        close_window(window)


def test_thinking_is_collapsed_apart_and_the_chat_can_hide_it(qtbot, chat_id) -> None:  # type: ignore[no-untyped-def]
    window = open_window_on_chat(qtbot, chat_id)
    answer = _answer(window)
    assert answer.thinking.isVisible() and not answer.thinking.expanded
    assert THINKING not in answer.body.toPlainText()
    assert THINKING not in answer.timeline.texts[0].toPlainText()
    action = window.chat_tools.thinking_action
    assert action.isChecked()
    action.trigger()  # ⋯ → Show thinking: off
    assert not answer.thinking.isVisible()
    wait_chats(qtbot, window)
    close_window(window)
    with ChatStore(ember_paths().chats_db) as store:
        assert store.get(chat_id).show_thinking is False  # type: ignore[union-attr]
    window = open_window_on_chat(qtbot, chat_id)  # kept with the chat
    assert not window.chat_tools.thinking_action.isChecked()
    assert not _answer(window).thinking.isVisible()
    close_window(window)


def test_tools_chosen_in_the_menu_are_kept_with_the_chat(qtbot, chat_id) -> None:  # type: ignore[no-untyped-def]
    window = open_window_on_chat(qtbot, chat_id)
    tools = window.chat_tools
    assert tools.button.text() == "Tools"  # off by default
    tools.list_tools()
    qtbot.waitUntil(lambda: bool(tools.infos), timeout=10_000)
    names = [a.text() for a in tools.menu.actions() if a.isCheckable()]
    assert names[:4] == ["search_documents", "calculator", "current_datetime", "read_file"]
    calculator = next(a for a in tools.menu.actions() if a.text() == "calculator")
    calculator.trigger()
    assert tools.button.text() == "Tools: 1"
    assert window.generator.chosen_tools() == ("calculator",)
    wait_chats(qtbot, window)
    with ChatStore(ember_paths().chats_db) as store:
        assert store.get(chat_id).tools == ("calculator",)  # type: ignore[union-attr]
    window.new_chat()  # a new chat starts without tools
    settle(qtbot)
    assert tools.tools == () and tools.button.text() == "Tools"
    close_window(window)


def test_a_tools_description_shows_as_typed_in_the_menus_tooltip(qtbot, chat_id) -> None:  # type: ignore[no-untyped-def]
    from tests.unit.ui.test_tool_settings import SHOUTY, shown_tooltip

    from ember.tools.types import ToolInfo

    window = open_window_on_chat(qtbot, chat_id)
    tools = window.chat_tools
    tools._listed([ToolInfo(name="add", description=SHOUTY, parameters={}, server="calc")])
    [add] = [a for a in tools.menu.actions() if a.text() == "add"]
    assert shown_tooltip(add.toolTip()) == SHOUTY
    close_window(window)


def test_settings_lists_a_real_servers_state_and_tools(qtbot, chat_id) -> None:  # type: ignore[no-untyped-def]
    import sys
    from pathlib import Path

    server = Path(__file__).resolve().parents[2] / "support" / "mcp_tools_server.py"
    config = ember_paths().mcp_config
    mcp = {"mcpServers": {"tests": {"command": sys.executable, "args": [str(server)]}}}
    config.write_text(json.dumps(mcp), encoding="utf-8")
    window = open_window_on_chat(qtbot, chat_id)
    dialog = window.open_settings()
    section = dialog.tools_section
    # The servers' state comes from the core's MCP host (asked off the GUI thread).
    qtbot.waitUntil(
        lambda: (
            section.server_list.count() == 1
            and section.server_list.item(0).text() == "tests · running"
        ),
        timeout=60_000,
    )
    listed = [section.tool_list.item(i).text() for i in range(section.tool_list.count())]
    assert "add" in listed and "calculator" not in listed  # the chosen server's own tools
    assert section.open_log.isEnabled()  # its stderr log
    dialog.reject()
    close_window(window)


def test_cancel_on_a_running_step_stops_that_step_not_the_answer(qtbot, chat_id) -> None:  # type: ignore[no-untyped-def]
    window = open_window_on_chat(qtbot, chat_id)
    generator = window.generator
    running = generator.approver.step_cancels.begin(41)  # what the tool loop does as it runs
    window.chat.stepCancelRequested.emit(41)  # Cancel on that step's row
    assert running.cancelled
    generator.approver.step_cancels.end(41)
    close_window(window)
