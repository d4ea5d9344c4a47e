"""The settings dialog's "Tools" tab: the MCP servers, ``mcp.json`` as text, the folders
``read_file`` may read, the step limit and the result cap.

The folders, the limit and the cap are saved with the other settings (:meth:`ToolsSection.values`).
The servers live in their own file (``Paths.mcp_config``, the ``mcpServers`` JSON other apps use):
"Save servers" checks the text with ``mcp_config.parse_servers`` first (a mistake is named, and the
text stays as typed), writes it and restarts the servers; a server's or a tool's checkbox writes
the file at once. Everything that talks to the servers runs off the GUI thread.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ember.errors import EmberError
from ember.ui.accessibility import name
from ember.ui.qt import (
    QDesktopServices,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    Qt,
    QUrl,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from ember.config import Settings
    from ember.tools.mcp_config import ServerConfig

log = logging.getLogger(__name__)

EMPTY = '{\n  "mcpServers": {}\n}\n'
EXAMPLE = 'For example: {"mcpServers": {"time": {"command": "mcp-server-time", "args": []}}}'


class ToolsSection(QWidget):
    """The tab's widgets. ``control`` is the window's :class:`~ember.ui.tools_menu.ChatTools`
    (its core and task manager); None: a dialog without a window, where servers are only
    edited as text."""

    def __init__(self, settings: Settings, control: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.control = control
        self.core = getattr(control, "core", None)
        self.tasks = getattr(control, "tasks", None)
        self.path: Path | None = self.core.paths.mcp_config if self.core is not None else None
        self.servers: list[ServerConfig] = []
        self.logs: dict[str, Path | None] = {}
        self.saved_text = ""  # mcp.json as last read or written
        self.saving = False  # a write of mcp.json is on its way
        self._next_write: list[ServerConfig] | None = None  # the servers to write after it
        layout = QVBoxLayout(self)

        box = QGroupBox("MCP servers", self)
        servers = QVBoxLayout(box)
        self.server_list = QListWidget(box)  # a server's checkbox: enabled
        name(self.server_list, "MCP servers", "Each server, its state; the checkbox enables it")
        self.server_list.itemChanged.connect(self._server_toggled)
        self.server_list.currentRowChanged.connect(lambda _row: self._show_tools())
        servers.addWidget(self.server_list)
        self.tool_list = QListWidget(box)  # the chosen server's tools; checkbox: enabled
        name(self.tool_list, "Tools of the server", "The checkbox enables the tool")
        self.tool_list.itemChanged.connect(self._tool_toggled)
        servers.addWidget(self.tool_list)
        row = QHBoxLayout()
        self.open_log = QPushButton("Open log", box)
        self.open_log.clicked.connect(self._open_log)
        row.addWidget(self.open_log)
        row.addStretch(1)
        servers.addLayout(row)

        servers.addWidget(QLabel("mcp.json (the mcpServers format Claude Desktop uses)", box))
        self.editor = QPlainTextEdit(box)
        self.editor.setObjectName("McpJson")
        self.editor.setTabChangesFocus(True)
        name(self.editor, "mcp.json", "The MCP servers as JSON")
        self.editor.setPlaceholderText(EXAMPLE)
        self.editor.setMinimumHeight(140)
        servers.addWidget(self.editor)
        save_row = QHBoxLayout()
        self.save_button = QPushButton("Save servers", box)
        self.save_button.clicked.connect(self.save_servers)
        save_row.addWidget(self.save_button)
        save_row.addStretch(1)
        servers.addLayout(save_row)
        self.error = QLabel("", box)
        self.error.setObjectName("Error")
        self.error.setWordWrap(True)
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.hide()
        servers.addWidget(self.error)
        layout.addWidget(box)

        files = QGroupBox("Folders read_file may read", self)
        folders = QVBoxLayout(files)
        self.folders = QListWidget(files)
        name(self.folders, "Folders read_file may read")
        self.folders.addItems(list(settings.read_file_folders))
        folders.addWidget(self.folders)
        buttons = QHBoxLayout()
        add = QPushButton("Add folder…", files)
        add.clicked.connect(self._add_folder)
        remove = QPushButton("Remove", files)
        remove.clicked.connect(self.remove_folder)
        buttons.addWidget(add)
        buttons.addWidget(remove)
        buttons.addStretch(1)
        folders.addLayout(buttons)
        layout.addWidget(files)

        limits = QGroupBox("Limits", self)
        form = QFormLayout(limits)
        self.step_limit = QSpinBox(limits)
        self.step_limit.setRange(1, 64)
        self.step_limit.setValue(settings.tool_step_limit)
        form.addRow("Tool calls per answer", self.step_limit)
        self.result_cap = QSpinBox(limits)
        self.result_cap.setRange(200, 1_000_000)
        self.result_cap.setSingleStep(1000)
        self.result_cap.setValue(settings.tool_result_max_chars)
        form.addRow("Characters of a tool result", self.result_cap)
        layout.addWidget(limits)
        layout.addStretch(1)
        self._load_file()
        self.refresh()

    # -- the settings it saves -----------------------------------------------------------------

    def values(self) -> dict[str, object]:
        return dict(
            read_file_folders=[self.folders.item(i).text() for i in range(self.folders.count())],
            tool_step_limit=self.step_limit.value(),
            tool_result_max_chars=self.result_cap.value(),
        )

    def add_folder(self, folder: str) -> None:
        if folder and not self.folders.findItems(folder, Qt.MatchFlag.MatchExactly):
            self.folders.addItem(folder)

    def _add_folder(self) -> None:
        self.add_folder(QFileDialog.getExistingDirectory(self, "Folder read_file may read"))

    def remove_folder(self) -> None:
        for item in self.folders.selectedItems():
            self.folders.takeItem(self.folders.row(item))

    # -- mcp.json --------------------------------------------------------------------------------

    def _load_file(self) -> None:
        if self.path is None:
            return
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            self._show_saved(EMPTY)  # no servers yet
            return
        except OSError as exc:
            self._say(f"{self.path} cannot be read: {exc}")
            return
        self._show_saved(text)
        try:
            from ember.tools.mcp_config import parse_servers

            self.servers = parse_servers(text, str(self.path))
        except EmberError as exc:
            self._say(str(exc))

    def _show_saved(self, text: str) -> None:
        """Show the file's text as saved (what :attr:`edited` compares with)."""
        self.saved_text = text
        self.editor.setPlainText(text)

    @property
    def edited(self) -> bool:
        """Whether the editor holds changes not saved yet."""
        return self.editor.toPlainText() != self.saved_text

    def _say(self, problem: str) -> None:
        self.error.setText(problem)
        self.error.setVisible(bool(problem))

    def save_servers(self) -> bool:
        """Check the text; if it is valid, write it and restart the servers. A mistake is shown
        and nothing is written (the text stays as typed)."""
        from ember.tools.mcp_config import parse_servers

        source = str(self.path) if self.path is not None else "mcp.json"
        try:
            servers = parse_servers(self.editor.toPlainText(), source)
        except EmberError as exc:
            self._say(str(exc))
            return False
        self._say("")
        self.saved_text = self.editor.toPlainText()  # (on its way to the file)
        self._write(servers)
        return True

    def _write(self, servers: list[ServerConfig]) -> None:
        """Write ``servers`` to mcp.json and restart them, off the GUI thread (one write at a
        time; the newest waiting one follows). The editor then shows the file as written, unless
        the person typed in it meanwhile."""
        from ember.tools.mcp_config import save_servers

        self.servers = servers
        if self.path is None:
            return
        if self.tasks is None:  # a dialog without a window: nothing runs the servers
            try:
                save_servers(self.path, servers)
            except (OSError, EmberError) as exc:
                self._say(f"The servers were not saved: {exc}")
                return
            self._show_saved(self.path.read_text(encoding="utf-8"))
            self._fill_servers([])
            return
        if self.saving:
            self._next_write = servers
            return
        self.saving = True
        core, path, shown = self.core, self.path, self.editor.toPlainText()

        def job(_report: object) -> tuple[str, str]:
            save_servers(path, servers)  # OSError / ConfigError: not saved
            text = path.read_text(encoding="utf-8")
            try:
                core.toolbox  # (made now, it reads the file just written)  # noqa: B018
                core.mcp_error = None
                if core.mcp_host is not None:
                    core.mcp_host.restart(servers)
            except Exception as exc:  # (saved: the failure to restart is said next to them)
                return text, f"The servers did not restart: {exc}"
            return text, ""

        def done(result: tuple[str, str]) -> None:
            text, problem = result
            if self.editor.toPlainText() == shown:
                self._show_saved(text)
            else:  # typed in while it was saved: the typing stays (and stays unsaved)
                self.saved_text = text
            self._say(problem)
            self._written()
            self.refresh()

        def failed(error: BaseException) -> None:
            self._say(f"The servers were not saved: {error}")
            self._written()

        self.tasks.run_background("save-mcp", job, on_done=done, on_error=failed)

    def _written(self) -> None:
        self.saving = False
        waiting, self._next_write = self._next_write, None
        if waiting is not None:
            self._write(waiting)

    # -- the servers' state ----------------------------------------------------------------------

    def refresh(self) -> None:
        """Each server's state and tools, asked off the GUI thread (the toolbox may start
        servers)."""
        core = self.core
        if core is None or self.tasks is None:
            self._fill_servers([])
            return

        def job(_report: object) -> tuple[list, list]:
            infos = core.toolbox.infos()  # (makes the MCP host on first use)
            host = core.mcp_host
            return (host.status() if host is not None else []), infos

        self.tasks.run_background(
            "mcp-status", job, on_done=self._listed, on_error=lambda e: self._say(str(e))
        )

    def _listed(self, result: tuple[list, list]) -> None:
        statuses, infos = result
        self.infos = infos
        self._fill_servers(statuses)

    def _fill_servers(self, statuses: list) -> None:
        by_name = {s.name: s for s in statuses}
        self.logs = {s.name: s.log_path for s in statuses}
        self.server_list.blockSignals(True)
        self.server_list.clear()
        for server in self.servers:
            status = by_name.get(server.name)
            state = status.state if status is not None else "stopped"
            detail = f" — {status.message}" if status is not None and status.message else ""
            item = QListWidgetItem(f"{server.name} · {state}{detail}")
            item.setData(Qt.ItemDataRole.UserRole, server.name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(
                Qt.CheckState.Unchecked if server.disabled else Qt.CheckState.Checked
            )
            self.server_list.addItem(item)
        self.server_list.blockSignals(False)
        if self.servers and self.server_list.currentRow() < 0:
            self.server_list.setCurrentRow(0)
        self._show_tools()

    def _current(self) -> ServerConfig | None:
        item = self.server_list.currentItem()
        wanted = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        return next((s for s in self.servers if s.name == wanted), None)

    def _show_tools(self) -> None:
        from ember.ui.tools_menu import plain_tooltip

        server = self._current()
        self.tool_list.blockSignals(True)
        self.tool_list.clear()
        for info in getattr(self, "infos", []):
            if server is None or info.server != server.name:
                continue
            remote = info.remote_name or info.name
            item = QListWidgetItem(info.name)
            item.setToolTip(plain_tooltip(info.description))
            item.setData(Qt.ItemDataRole.UserRole, remote)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            off = remote in server.disabled_tools
            item.setCheckState(Qt.CheckState.Unchecked if off else Qt.CheckState.Checked)
            self.tool_list.addItem(item)
        self.tool_list.blockSignals(False)
        self.open_log.setEnabled(server is not None and self.logs.get(server.name) is not None)

    def _server_toggled(self, item: QListWidgetItem) -> None:
        from dataclasses import replace

        if self._refuse_while_edited(self.server_list, item):
            return
        wanted = item.data(Qt.ItemDataRole.UserRole)
        disabled = item.checkState() != Qt.CheckState.Checked
        self._write(
            [replace(s, disabled=disabled) if s.name == wanted else s for s in self.servers]
        )

    def _tool_toggled(self, item: QListWidgetItem) -> None:
        from dataclasses import replace

        server = self._current()
        if server is None or self._refuse_while_edited(self.tool_list, item):
            return
        remote = item.data(Qt.ItemDataRole.UserRole)
        off = [t for t in server.disabled_tools if t != remote]
        if item.checkState() != Qt.CheckState.Checked:
            off.append(remote)
        changed = replace(server, disabled_tools=tuple(off))
        self._write([changed if s.name == server.name else s for s in self.servers])

    def _refuse_while_edited(self, items: QListWidget, item: QListWidgetItem) -> bool:
        """A checkbox writes mcp.json from the servers as saved: while the editor holds changes
        not saved yet, that would replace them. The box goes back and the person is told."""
        if not self.edited:
            return False
        items.blockSignals(True)
        on = item.checkState() == Qt.CheckState.Checked
        item.setCheckState(Qt.CheckState.Unchecked if on else Qt.CheckState.Checked)
        items.blockSignals(False)
        self._say(
            "mcp.json below has changes not saved yet: press Save servers (or undo them) "
            "first, then switch servers and tools on or off."
        )
        return True

    def _open_log(self) -> None:
        """Open the chosen server's stderr log with the system's viewer; a server that has not
        run yet has none, and the status bar says so (and where it will be)."""
        from ember.ui import message

        server = self._current()
        path = self.logs.get(server.name) if server is not None else None
        if server is None or path is None:
            return
        if not path.is_file():
            message.info(f"“{server.name}” has written no log yet: it goes to {path} once it runs.")
            return
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))):
            message.warning("Log not opened", f"No program here opens {path}.")
