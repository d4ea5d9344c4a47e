"""The real window over a real chat history: a stored answer's tool steps show between its text
when the chat is opened (again); its thinking is a collapsed block the chat can hide (kept with
the chat); the Tools menu's choice is kept with the chat. No model is loaded (none is needed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.support.ui_app import close_window, open_window_on_chat, settle, wait_chats

from ember.chats.store import ChatStore
from ember.paths import ember_paths
from ember.ui.qt import QRect, Qt, QTimer

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


def _action(tools, tool: str):  # type: ignore[no-untyped-def]
    """The Tools menu's entry for ``tool`` (named in its data; its text may add "— asks first")."""
    entries = [a for a in tools.menu.actions() if a.isCheckable()]
    return next(a for a in entries if tool in (a.data(), a.text().split(" — ")[0]))


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
    assert tools.button.text() == "Tools  ▾"  # off by default
    tools.list_tools()
    qtbot.waitUntil(lambda: bool(tools.infos), timeout=10_000)
    names = [a.data() for a in tools.menu.actions() if a.isCheckable()]
    assert names[:4] == ["search_documents", "calculator", "current_datetime", "read_file"]
    _action(tools, "calculator").trigger()
    assert tools.button.text() == "Tools: 1  ▾"
    assert window.generator.chosen_tools() == ("calculator",)
    wait_chats(qtbot, window)
    with ChatStore(ember_paths().chats_db) as store:
        assert store.get(chat_id).tools == ("calculator",)  # type: ignore[union-attr]
    window.new_chat()  # a new chat starts without tools
    settle(qtbot)
    assert tools.tools == () and tools.button.text() == "Tools  ▾"
    close_window(window)


def test_a_tools_description_shows_as_typed_in_the_menus_tooltip(qtbot, chat_id) -> None:  # type: ignore[no-untyped-def]
    from tests.unit.ui.test_tool_settings import SHOUTY, shown_tooltip

    from ember.tools.types import ToolInfo
    from ember.ui.tools_menu import ToolList

    window = open_window_on_chat(qtbot, chat_id)
    tools = window.chat_tools
    tools._listed(ToolList((ToolInfo(name="add", description=SHOUTY, parameters={}, server="c"),)))
    add = _action(tools, "add")
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


# -- the Tools menu ------------------------------------------------------------------------------

SERVER = Path(__file__).resolve().parents[2] / "support" / "mcp_tools_server.py"
SCREENS = Path(__file__).resolve().parents[2] / "support" / "tools_menu_on_screens.py"
# The offscreen platform cannot raise a popup or grab the keyboard: harmless here.
QUIET = pytest.mark.qt_log_ignore(
    "This plugin does not support raise", "This plugin does not support grabbing"
)


def _configure_servers(**extra: dict) -> None:  # type: ignore[type-arg]
    servers = {"tests": {"command": sys.executable, "args": [str(SERVER)]}, **extra}
    config = ember_paths().ensure().mcp_config
    config.write_text(json.dumps({"mcpServers": servers}), encoding="utf-8")


def _while_open(qtbot, tools, check: Callable[[], None]) -> None:  # type: ignore[no-untyped-def]
    """Open Tools ▾ as a click on the button does (Qt places the menu and waits inside it
    until it closes), run ``check`` while it is open, then close it."""
    outcome: list[BaseException | None] = []

    def inside() -> None:
        try:
            qtbot.waitUntil(tools.menu.isVisible, timeout=5000)
            check()
            outcome.append(None)
        except BaseException as exc:  # (raised below, outside Qt's menu loop)
            outcome.append(exc)
        finally:
            tools.menu.close()

    QTimer.singleShot(0, inside)
    tools.button.showMenu()
    assert outcome, "the menu never opened"
    if outcome[0] is not None:
        raise outcome[0]


@QUIET
def test_the_menu_opens_inside_the_screen_at_1280x820_and_800x600(tmp_path) -> None:
    # It opened holding only "Listing tools…" and then grew in place, off the bottom of the
    # screen. Run on two offscreen screens of those sizes (a window filling each).
    _configure_servers()
    screens = tmp_path / "screens.json"
    sizes = [(0, 1280, 820), (1280, 800, 600)]
    screens.write_text(
        json.dumps(
            {
                "screens": [
                    {"name": f"s{w}", "x": x, "y": 0, "width": w, "height": h, "dpr": 1}
                    | {"logicalDpi": 96, "logicalBaseDpi": 96}
                    for x, w, h in sizes
                ]
            }
        ),
        encoding="utf-8",
    )
    root = Path(__file__).resolve().parents[3]
    env = dict(os.environ, QT_QPA_PLATFORM=f"offscreen:configfile={screens}")
    env["PYTHONPATH"] = os.pathsep.join([str(root / "desktop"), str(root)])
    done = subprocess.run(
        [sys.executable, str(SCREENS)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    openings = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(openings) == 4, done.stdout + done.stderr[-3000:]  # two per screen
    for seen in openings:
        assert "error" not in seen, seen
        assert seen["tools"] >= 10  # the built-ins and the test server's tools
        screen, menu = QRect(*seen["screen"]), QRect(*seen["menu"])
        assert screen.contains(menu), f"the menu {seen['menu']} is not inside {seen['screen']}"


@QUIET
def test_pointing_at_the_button_lists_the_tools_before_the_menu_opens(qtbot, chat_id) -> None:  # type: ignore[no-untyped-def]
    window = open_window_on_chat(qtbot, chat_id)
    tools = window.chat_tools
    assert tools.infos == []
    qtbot.mouseMove(tools.button)  # the pointer reaches Tools ▾
    qtbot.waitUntil(lambda: bool(tools.infos), timeout=10_000)

    def full_at_once() -> None:  # no "Listing tools…": every tool is there as it opens
        labels = [a.text() for a in tools.menu.actions()]
        assert "Listing tools…" not in labels and _action(tools, "calculator").isVisible()
        assert tools.menu.screen().availableGeometry().contains(tools.menu.geometry())

    _while_open(qtbot, tools, full_at_once)
    close_window(window)


@QUIET
def test_the_menu_stays_open_while_several_tools_are_ticked(qtbot, chat_id) -> None:  # type: ignore[no-untyped-def]
    window = open_window_on_chat(qtbot, chat_id)
    tools = window.chat_tools
    tools.list_tools()
    qtbot.waitUntil(lambda: bool(tools.infos), timeout=10_000)

    def tick_three() -> None:
        menu = tools.menu
        for tool in ("calculator", "current_datetime", "search_documents"):
            action = _action(tools, tool)
            qtbot.mouseClick(
                menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(action).center()
            )
            assert menu.isVisible(), f"the menu closed after ticking {tool}"
            assert action.isChecked()
        menu.setActiveAction(_action(tools, "search_documents"))
        qtbot.keyClick(menu, Qt.Key.Key_Space)  # and by keyboard: unticked, still open
        assert menu.isVisible() and not _action(tools, "search_documents").isChecked()

    _while_open(qtbot, tools, tick_three)
    assert tools.tools == ("calculator", "current_datetime")
    assert tools.button.text() == "Tools: 2  ▾"
    close_window(window)


def test_the_menu_says_which_tools_ask_first_and_which_servers_are_not_running(  # type: ignore[no-untyped-def]
    qtbot, chat_id
) -> None:
    _configure_servers(
        ghost={"command": "/nonexistent/ember-test-mcp-server"},
        old={"command": sys.executable, "args": [str(SERVER)], "disabled": True},
    )
    window = open_window_on_chat(qtbot, chat_id)
    tools = window.chat_tools
    tools.list_tools()
    qtbot.waitUntil(lambda: "add" in [i.name for i in tools.infos], timeout=60_000)
    assert _action(tools, "add").text() == "add — asks first"
    assert _action(tools, "calculator").text() == "calculator"  # read-only built-in: runs
    lines = {a.text(): a for a in tools.menu.actions() if not a.isSeparator()}
    ghost = next(a for t, a in lines.items() if t.startswith("ghost — failed: "))
    assert not ghost.isEnabled() and not ghost.isCheckable()
    assert len(ghost.text()) <= len("ghost — ") + 60  # short; all of it in the tooltip
    old = lines["old — turned off in Settings → Tools"]
    assert not old.isEnabled()
    close_window(window)


def test_the_tools_button_looks_like_the_documents_button_in_both_themes(qtbot, chat_id) -> None:  # type: ignore[no-untyped-def]
    from ember.ui.qt import QApplication
    from ember.ui.theme import Theme

    window = open_window_on_chat(qtbot, chat_id)
    app = QApplication.instance()
    before = (app.palette(), app.styleSheet())
    tools, documents = window.chat_tools.button, window.collections_button
    assert tools.text().endswith("▾") and documents.text().endswith("▾")
    try:
        for dark in (False, True):
            Theme(app, dark=dark)
            settle(qtbot)
            edge = []
            for button in (tools, documents):
                picture = button.grab().toImage()
                edge.append(picture.pixelColor(picture.width() // 2, 0).name())
            assert edge[0] == edge[1], f"{'dark' if dark else 'light'}: border {edge}"
    finally:
        app.setPalette(before[0])
        app.setStyleSheet(before[1])
    close_window(window)
