"""Settings → Tools: mcp.json edited as text is checked before it is saved (a mistake is named
and the text stays as typed); the read_file folders and the limits are saved with the settings."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from ember.config import Settings
from ember.paths import ember_paths
from ember.tools.mcp_config import load_servers
from ember.ui.dialogs import SettingsDialog
from ember.ui.settings_tools import ToolsSection

GOOD = '{"mcpServers": {"time": {"command": "mcp-server-time", "args": ["--local-timezone=UTC"]}}}'
BAD = '{"mcpServers": {"time": {"command": "mcp-server-time", "args": ["--local-timezone=UTC"]}'


def _section(qtbot) -> ToolsSection:  # type: ignore[no-untyped-def]
    # Only the core's paths are read without a window (no host, no task manager).
    control = SimpleNamespace(core=SimpleNamespace(paths=ember_paths().ensure()), tasks=None)
    section = ToolsSection(Settings(), control)
    qtbot.addWidget(section)
    section.show()
    return section


def test_bad_json_is_refused_with_a_clear_error_and_the_text_kept(qtbot) -> None:
    section = _section(qtbot)
    assert section.path is not None
    section.editor.setPlainText(BAD)
    assert section.save_servers() is False
    assert section.error.isVisible()
    assert "mcp.json" in section.error.text()  # names the file (and the problem)
    assert section.editor.toPlainText() == BAD  # nothing the person typed is lost
    assert not section.path.exists()  # nothing written


def test_a_server_without_a_command_or_url_is_refused(qtbot) -> None:
    section = _section(qtbot)
    text = '{"mcpServers": {"broken": {"args": ["x"]}}}'
    section.editor.setPlainText(text)
    assert section.save_servers() is False
    assert "broken" in section.error.text()
    assert section.editor.toPlainText() == text


def test_valid_servers_are_saved_and_listed(qtbot) -> None:
    section = _section(qtbot)
    section.editor.setPlainText(GOOD)
    assert section.save_servers() is True
    assert not section.error.isVisible()
    assert section.path is not None
    [server] = load_servers(section.path)
    assert (server.name, server.command, server.args) == (
        "time",
        "mcp-server-time",
        ("--local-timezone=UTC",),
    )
    assert section.server_list.count() == 1
    assert section.server_list.item(0).text().startswith("time · ")


def test_keys_ember_does_not_know_are_saved_as_typed(qtbot) -> None:
    """Other apps' keys in the typed text (Claude Desktop's globalShortcut, Cline's
    autoApprove) are written back, not dropped."""
    import json

    section = _section(qtbot)
    section.editor.setPlainText(
        '{"globalShortcut": "Ctrl+M", "mcpServers": '
        '{"time": {"command": "mcp-server-time", "autoApprove": ["get_current_time"]}}}'
    )
    assert section.save_servers() is True
    assert section.path is not None
    qtbot.waitUntil(section.path.exists, timeout=5000)
    written = json.loads(section.path.read_text(encoding="utf-8"))
    assert written["globalShortcut"] == "Ctrl+M"
    assert written["mcpServers"]["time"]["autoApprove"] == ["get_current_time"]


def test_a_servers_checkbox_edits_the_text_and_only_save_servers_writes_it(qtbot) -> None:
    from ember.ui.qt import Qt

    section = _section(qtbot)
    section.editor.setPlainText(GOOD)
    section.save_servers()
    assert section.path is not None
    saved = section.path.read_text(encoding="utf-8")
    assert not section.note.text().startswith("mcp.json has changes")
    section.server_list.item(0).setCheckState(Qt.CheckState.Unchecked)
    assert section.path.read_text(encoding="utf-8") == saved  # nothing written behind its back
    assert '"disabled": true' in section.editor.toPlainText()
    assert section.note.text().startswith("mcp.json has changes not saved yet")
    qtbot.waitUntil(lambda: section.server_list.item(0).text() == "time · not saved yet")
    section.editor.undo()  # the checkbox was one edit of the text
    assert section.editor.toPlainText() == saved and not section.note.text()
    section.server_list.item(0).setCheckState(Qt.CheckState.Unchecked)
    assert section.save_servers() is True
    assert load_servers(section.path)[0].disabled is True
    assert section.note.text().startswith("Saved")


def test_a_tools_checkbox_edits_disabled_tools_in_the_text(qtbot) -> None:
    from ember.tools.types import ToolInfo
    from ember.ui.qt import Qt

    section = _section(qtbot)
    section.editor.setPlainText(GOOD)
    section.save_servers()
    assert section.path is not None
    saved = section.path.read_text(encoding="utf-8")
    section.infos = [ToolInfo(name="now", description="", server="time", remote_name="now")]
    section._fill_servers()
    section.tool_list.item(0).setCheckState(Qt.CheckState.Unchecked)
    assert section.path.read_text(encoding="utf-8") == saved
    qtbot.waitUntil(lambda: section.tool_list.count() == 1)
    assert section.tool_list.item(0).checkState() == Qt.CheckState.Unchecked
    section.save_servers()
    assert load_servers(section.path)[0].disabled_tools == ("now",)
    section.tool_list.item(0).setCheckState(Qt.CheckState.Checked)  # back on: the key goes
    assert "disabledTools" not in section.editor.toPlainText()


def test_a_failed_servers_message_is_shown_whole_under_the_list(qtbot) -> None:
    from ember.tools.mcp_host import ServerStatus

    section = _section(qtbot)
    section.editor.setPlainText(GOOD)
    section.save_servers()
    why = (
        "The MCP server 'time' could not start: the command '/usr/bin/does-not-exist-mcp' was "
        "not found. Check the command in mcp.json or install the server."
    )
    section._fill_servers([ServerStatus(name="time", state="failed", message=why)])
    row = section.server_list.item(0)
    assert row.text() == "time · failed"  # a short row: no cut-off sentence, no scrolling
    assert why in row.toolTip()
    assert section.detail.isVisible() and why in section.detail.text()
    assert section.detail.wordWrap()


def test_a_checkbox_never_replaces_text_typed_and_not_saved(qtbot) -> None:
    from ember.ui.qt import Qt

    section = _section(qtbot)
    section.editor.setPlainText(GOOD)
    section.save_servers()
    assert section.path is not None
    saved = section.path.read_text(encoding="utf-8")
    typed = GOOD.replace("}}}", '}, "files": {"command": "mcp-files"')  # half typed
    section.editor.setPlainText(typed)
    section.server_list.item(0).setCheckState(Qt.CheckState.Unchecked)
    assert section.editor.toPlainText() == typed  # the typing stays
    assert section.path.read_text(encoding="utf-8") == saved  # nothing written
    assert section.server_list.item(0).checkState() == Qt.CheckState.Checked  # the box went back
    assert "mistake" in section.error.text()


def test_folders_and_limits_are_saved_with_the_settings(qtbot, tmp_path) -> None:
    dialog = SettingsDialog(Settings(read_file_folders=[str(tmp_path / "old")]))
    qtbot.addWidget(dialog)
    tools = dialog.tools_section
    tools.add_folder(str(tmp_path / "notes"))
    tools.folders.item(0).setSelected(True)
    tools.remove_folder()
    tools.step_limit.setValue(3)
    tools.result_cap.setValue(5000)
    tools.timeout.setValue(90)
    saved = dialog.settings()
    assert saved.read_file_folders == [str(tmp_path / "notes")]
    assert (saved.tool_step_limit, saved.tool_result_max_chars) == (3, 5000)
    assert saved.tool_timeout_s == 90.0


# What a server may say about its tool: markup a tooltip would otherwise draw (and load).
SHOUTY = '<img src="file:///etc/hostname"><b>Adds</b> two numbers.\nSecond line & more.'


def shown_tooltip(tooltip: str) -> str:
    """What Qt draws for ``tooltip`` (it reads text that looks like HTML as HTML)."""
    from PySide6.QtGui import Qt  # (the QtGui half of Qt's namespace: mightBeRichText)

    from ember.ui.qt import QTextDocument

    document = QTextDocument()
    if Qt.mightBeRichText(tooltip):
        document.setHtml(tooltip)
    else:
        document.setPlainText(tooltip)
    return document.toPlainText()


def test_a_tools_description_shows_as_typed_in_its_tooltip(qtbot) -> None:
    from ember.tools.mcp_config import ServerConfig
    from ember.tools.types import ToolInfo

    section = _section(qtbot)
    section.servers = [ServerConfig(name="calc", command="calc-server")]
    section.infos = [
        ToolInfo(name="add", description=SHOUTY, parameters={}, server="calc", remote_name="add")
    ]
    section._fill_servers([])
    assert section.tool_list.count() == 1
    assert shown_tooltip(section.tool_list.item(0).toolTip()) == SHOUTY


def test_saving_servers_writes_off_the_gui_thread_and_restarts_them(qtbot, monkeypatch) -> None:
    import threading

    from ember.core import Core
    from ember.tools import mcp_config
    from ember.ui.tasks import TaskManager

    writers: list[str] = []
    real_save = mcp_config.save_servers

    def watched(path, servers, text=None):  # type: ignore[no-untyped-def]
        writers.append(threading.current_thread().name)
        real_save(path, servers, text=text)

    monkeypatch.setattr(mcp_config, "save_servers", watched)
    core, tasks = Core(), TaskManager()
    section = ToolsSection(Settings(), SimpleNamespace(core=core, tasks=tasks))
    qtbot.addWidget(section)
    section.editor.setPlainText(GOOD)
    assert section.save_servers() is True
    path = section.path
    assert path is not None
    # Then the editor shows the file as written (indented: it was typed on one line).
    qtbot.waitUntil(lambda: path.exists() and "\n" in section.editor.toPlainText(), timeout=10_000)
    assert writers and threading.main_thread().name not in writers
    assert section.editor.toPlainText() == path.read_text(encoding="utf-8")
    assert core.mcp_host is not None  # the core's host took the servers
    tasks.shutdown()
    core.close()


def _one_server_with_log(qtbot, log: Path) -> ToolsSection:  # type: ignore[no-untyped-def]
    from ember.tools.mcp_host import ServerStatus

    section = _section(qtbot)
    section.editor.setPlainText(GOOD)
    section.save_servers()
    section._fill_servers([ServerStatus(name="time", state="stopped", log_path=log)])
    assert section.open_log.isEnabled()
    return section


def test_open_log_opens_a_servers_log(qtbot, tmp_path: Path) -> None:
    from tests.support.ui_app import UrlCatcher

    from ember.ui.qt import QDesktopServices

    log = tmp_path / "mcp-time.log"
    log.write_text("started\n", encoding="utf-8")
    section = _one_server_with_log(qtbot, log)
    catcher = UrlCatcher()
    QDesktopServices.setUrlHandler("file", catcher, "open")
    try:
        section.open_log.click()
    finally:
        QDesktopServices.unsetUrlHandler("file")
    assert [Path(url.toLocalFile()) for url in catcher.opened] == [log]


def test_open_log_of_a_server_that_has_not_run_says_where_it_will_be(qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.support.ui_app import UrlCatcher

    from ember.ui import message
    from ember.ui.qt import QDesktopServices

    log = tmp_path / "mcp-time.log"  # not written yet
    section = _one_server_with_log(qtbot, log)
    catcher = UrlCatcher()
    QDesktopServices.setUrlHandler("file", catcher, "open")
    try:
        with qtbot.waitSignal(message.global_bridge.info_shown) as told:
            section.open_log.click()
    finally:
        QDesktopServices.unsetUrlHandler("file")
    assert catcher.opened == []  # no viewer opened on a missing file
    assert "no log yet" in told.args[0] and str(log) in told.args[0]


def test_closing_settings_before_the_servers_are_listed_is_quiet(qtbot) -> None:  # type: ignore[no-untyped-def]
    """The listing runs off the GUI thread; Settings closed meanwhile must not be touched."""
    from ember.core import Core
    from ember.ui.tasks import TaskManager

    core, tasks = Core(), TaskManager()
    section = ToolsSection(Settings(), SimpleNamespace(core=core, tasks=tasks))
    section.refresh()  # asked; the answer comes after the section is gone
    section.deleteLater()
    qtbot.waitUntil(lambda: not tasks.active(), timeout=10_000)  # delivered (and dropped)
    tasks.shutdown()
    core.close()
