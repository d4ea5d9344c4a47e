"""The settings dialog around its Tools tab: one save for mcp.json and the settings (Cancel
writes nothing), the always-allowed tools, and feedback the person can see (the error under the
editor scrolled into view, tab titles that stay whole)."""

from __future__ import annotations

from types import SimpleNamespace

from ember.config import Settings
from ember.paths import ember_paths
from ember.tools.mcp_config import load_servers
from ember.ui.dialogs import SettingsDialog
from ember.ui.qt import Qt, QWidget

GOOD = '{"mcpServers": {"time": {"command": "mcp-server-time"}}}\n'


def _dialog(qtbot, settings: Settings | None = None) -> SettingsDialog:  # type: ignore[no-untyped-def]
    """The dialog over a window-less core (its paths only: no host, no task manager)."""
    window = QWidget()
    window.chat_tools = SimpleNamespace(  # type: ignore[attr-defined]
        core=SimpleNamespace(paths=ember_paths().ensure()), tasks=None
    )
    qtbot.addWidget(window)
    dialog = SettingsDialog(settings or Settings(), window)
    dialog.window_for_test = window  # type: ignore[attr-defined]  # (qtbot holds a weak ref)
    return dialog


def test_cancel_leaves_mcp_json_as_it_was_after_a_checkbox(qtbot) -> None:
    path = ember_paths().ensure().mcp_config
    path.write_text(GOOD, encoding="utf-8")
    dialog = _dialog(qtbot)
    dialog.tools_section.server_list.item(0).setCheckState(Qt.CheckState.Unchecked)
    dialog.reject()
    assert path.read_text(encoding="utf-8") == GOOD


def test_the_dialogs_save_writes_mcp_json_not_saved_yet(qtbot) -> None:
    path = ember_paths().ensure().mcp_config
    path.write_text(GOOD, encoding="utf-8")
    dialog = _dialog(qtbot)
    dialog.tools_section.server_list.item(0).setCheckState(Qt.CheckState.Unchecked)
    dialog.accept()
    assert dialog.result() == SettingsDialog.DialogCode.Accepted
    assert dialog.result_settings is not None
    assert load_servers(path)[0].disabled is True


def test_the_dialogs_save_stays_open_on_a_mistake_in_mcp_json(qtbot) -> None:
    path = ember_paths().ensure().mcp_config
    path.write_text(GOOD, encoding="utf-8")
    dialog = _dialog(qtbot)
    dialog.show()
    dialog.tabs.setCurrentIndex(0)
    dialog.tools_section.editor.setPlainText(GOOD.replace("}}}", "}}"))
    dialog.accept()
    assert dialog.isVisible() and dialog.result_settings is None
    assert dialog.tabs.currentWidget() is dialog.tools_page  # where the mistake is
    qtbot.waitUntil(lambda: not dialog.tools_section.error.visibleRegion().isEmpty())
    assert path.read_text(encoding="utf-8") == GOOD


def test_an_always_allowed_tool_can_be_removed_and_is_saved_with_the_dialog(qtbot) -> None:
    dialog = _dialog(qtbot, Settings(tools_always_allowed=["arith/add", "built-in/read_file"]))
    tools = dialog.tools_section
    shown = [tools.allowed.list.item(i).text() for i in range(tools.allowed.list.count())]
    assert shown == ["add (server arith)", "read_file (built-in)"]
    assert not tools.allowed.remove_button.isEnabled()  # nothing chosen yet
    tools.allowed.list.item(0).setSelected(True)
    tools.allowed.remove_button.click()
    assert dialog.settings().tools_always_allowed == ["built-in/read_file"]
    tools.allowed.list.item(0).setSelected(True)
    tools.allowed.remove_button.click()
    assert dialog.settings().tools_always_allowed == []
    assert tools.allowed.list.isHidden() and not tools.allowed.none.isHidden()


def test_a_tool_allowed_in_this_session_asks_again_once_removed_in_settings() -> None:
    from ember.tools.toolbox import Toolbox
    from ember.tools.types import ToolInfo

    held = {"settings": Settings()}

    def remember(key: str) -> None:  # as the core does: saved into the settings in use
        allowed = [*held["settings"].tools_always_allowed, key]
        held["settings"] = held["settings"].model_copy(update={"tools_always_allowed": allowed})

    box = Toolbox(lambda: held["settings"], remember=remember)
    add = ToolInfo(name="add", description="", server="arith", remote_name="add")
    box.always_allow(add)
    assert not box.needs_approval(add)
    held["settings"] = held["settings"].model_copy(update={"tools_always_allowed": []})
    assert box.needs_approval(add)  # removed in Settings → Tools: asked again


def test_save_servers_error_is_scrolled_into_view_under_the_editor(qtbot) -> None:
    path = ember_paths().ensure().mcp_config
    path.write_text(GOOD, encoding="utf-8")
    dialog = _dialog(qtbot)
    dialog.resize(560, 420)  # small: the page scrolls
    dialog.show()
    dialog.tabs.setCurrentWidget(dialog.tools_page)
    tools = dialog.tools_section
    tools.editor.setPlainText('{"mcpServers": {"time": {"args": []}}}')
    qtbot.waitExposed(dialog)
    tools.save_button.click()
    qtbot.waitUntil(lambda: not tools.error.visibleRegion().isEmpty())
    assert "time" in tools.error.text()
    assert not tools.save_button.visibleRegion().isEmpty()
    below = tools.error.mapTo(tools, tools.error.rect().topLeft()).y()
    assert below > tools.editor.mapTo(tools, tools.editor.rect().bottomLeft()).y()


def test_the_dialog_opens_large_enough_and_resizes(qtbot) -> None:
    dialog = _dialog(qtbot)
    assert dialog.isSizeGripEnabled()
    free = dialog.screen().availableGeometry()
    assert dialog.width() >= min(760, free.width() - 40)
    assert dialog.height() >= min(560, free.height() - 40)
    assert dialog.width() <= free.width() and dialog.height() <= free.height()


def test_a_tab_keeps_its_size_once_focus_leaves_it(qtbot) -> None:
    from ember.ui.theme import LIGHT, stylesheet

    dialog = _dialog(qtbot)
    dialog.setStyleSheet(stylesheet(LIGHT))  # the app's look (its focus ring on tabs)
    dialog.show()
    qtbot.waitExposed(dialog)
    bar = dialog.tabs.tabBar()
    bar.setFocus(Qt.FocusReason.TabFocusReason)  # as a click on the tab: focus, then choose
    qtbot.waitUntil(bar.hasFocus)
    dialog.tabs.setCurrentWidget(dialog.tools_page)
    dialog.tools_section.editor.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(dialog.tools_section.editor.hasFocus)
    for i in range(bar.count()):  # each title whole: as wide as the tab wants
        assert bar.tabRect(i).width() >= bar.tabSizeHint(i).width(), bar.tabText(i)
