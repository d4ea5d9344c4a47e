"""The settings dialog's "Tools" tab: the MCP servers, ``mcp.json`` as text, the tools always
allowed, the folders ``read_file`` may read, and the limits (tool calls per answer, a result's
length, a call's time).

Two things are saved, each in one place, and nothing is written before the person saves:

- ``mcp.json`` (``Paths.mcp_config``, the ``mcpServers`` JSON other apps use) is the text in the
  editor. A server's or a tool's checkbox edits that text (its ``disabled`` / ``disabledTools``
  keys); a line under the editor says while it holds changes not saved yet. "Save servers" checks
  the text with ``mcp_config.parse_servers`` (a mistake is named right under the editor, and the
  text stays as typed), writes it and restarts the servers; the dialog's Save does the same for
  changes not saved yet, and its Cancel drops them.
- The always-allowed tools, the folders and the limits are settings, saved with the dialog's Save
  (:meth:`ToolsSection.values`).

Everything that talks to the servers runs off the GUI thread.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ember.errors import ConfigError, EmberError
from ember.ui.accessibility import name
from ember.ui.qt import (
    QDesktopServices,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    Qt,
    QTextCursor,
    QTimer,
    QUrl,
    QVBoxLayout,
    QWidget,
)
from ember.ui.tools_allowed import AllowedTools, wrapped_label

if TYPE_CHECKING:
    from ember.config import Settings
    from ember.tools.mcp_config import ServerConfig

log = logging.getLogger(__name__)

EMPTY = '{\n  "mcpServers": {}\n}\n'
EXAMPLE = 'For example: {"mcpServers": {"time": {"command": "mcp-server-time", "args": []}}}'
NOT_SAVED = (
    "mcp.json has changes not saved yet: Save servers writes them and restarts the servers "
    "(so does the dialog's Save); Cancel drops them."
)
LIST_ROWS = 5  # rows a server or tool list shows before it scrolls


def switched(text: str, server: str, *, disabled: bool | None = None, tool: str = "") -> str:
    """``text`` (mcp.json) with ``server``'s ``"disabled"`` set to ``disabled`` or, with
    ``tool`` (the server's own name for it), that tool added to or taken from its
    ``"disabledTools"`` (``disabled`` True: switched off). A key at its default is left out;
    every other key stays. Raises :class:`ConfigError` when the text is not JSON or has no such
    server."""
    try:
        document = json.loads(text)
        entry = document["mcpServers"][server]
    except (ValueError, TypeError, KeyError):
        raise ConfigError(
            f"mcp.json below has a mistake or no server {server!r}: fix it (or Save servers "
            "to see what is wrong) before switching servers and tools on or off."
        ) from None
    if not isinstance(entry, dict):
        raise ConfigError(f"In mcp.json below, server {server!r} is not an object.")
    if tool:
        off = [t for t in entry.get("disabledTools", []) if t != tool]
        off += [tool] if disabled else []
        entry["disabledTools"] = off
        if not off:
            del entry["disabledTools"]
    elif disabled:
        entry["disabled"] = True
    else:
        entry.pop("disabled", None)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _short_list(widget: QListWidget) -> None:
    """At most :data:`LIST_ROWS` rows high: a long list scrolls, the page does not grow."""
    rows = widget.fontMetrics().height() + 6
    widget.setMaximumHeight(rows * LIST_ROWS + 2 * widget.frameWidth() + 4)
    widget.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Maximum)


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
        self.servers: list[ServerConfig] = []  # as saved in mcp.json
        self.shown: list[ServerConfig] = []  # as the editor's text has them (when it parses)
        self.statuses: list = []  # the host's ServerStatus list, as last asked
        self.infos: list = []  # the tools' ToolInfo, as last asked
        self.logs: dict[str, Path | None] = {}
        self.saved_text = ""  # mcp.json as last read or written
        self.saving = False  # a write of mcp.json is on its way
        self._then: Callable[[], None] | None = None  # what follows the write on its way
        self._switching = False  # a checkbox is editing the text (its box already shows it)
        layout = QVBoxLayout(self)
        layout.addWidget(self._servers_box())
        self.allowed = AllowedTools(list(settings.tools_always_allowed), self)
        _short_list(self.allowed.list)
        layout.addWidget(self.allowed)
        layout.addWidget(self._folders_box(settings))
        layout.addWidget(self._limits_box(settings))
        layout.addStretch(1)
        self._load_file()
        self.refresh()

    def _servers_box(self) -> QGroupBox:
        box = QGroupBox("MCP servers", self)
        servers = QVBoxLayout(box)
        self.server_list = QListWidget(box)  # a server's checkbox: enabled
        name(self.server_list, "MCP servers", "Each server, its state; the checkbox enables it")
        _short_list(self.server_list)
        self.server_list.itemChanged.connect(self._server_toggled)
        self.server_list.currentRowChanged.connect(lambda _row: self._show_tools())
        servers.addWidget(self.server_list)
        self.detail = wrapped_label("", box)  # the chosen server's state and message, whole
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail.hide()
        servers.addWidget(self.detail)
        self.tool_list = QListWidget(box)  # the chosen server's tools; checkbox: enabled
        name(self.tool_list, "Tools of the server", "The checkbox enables the tool")
        _short_list(self.tool_list)
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
        self.editor.textChanged.connect(self._text_changed)
        servers.addWidget(self.editor)
        self.error = wrapped_label("", box, "Error")  # right under the text it is about
        self.error.hide()
        servers.addWidget(self.error)
        save_row = QHBoxLayout()
        self.save_button = QPushButton("Save servers", box)
        self.save_button.setToolTip("Write mcp.json now and restart the servers")
        self.save_button.clicked.connect(self.save_servers)
        save_row.addWidget(self.save_button)
        self.note = wrapped_label("", box)  # not saved yet / saved
        save_row.addWidget(self.note, 1)
        servers.addLayout(save_row)
        return box

    def _folders_box(self, settings: Settings) -> QGroupBox:
        files = QGroupBox("Folders read_file may read", self)
        folders = QVBoxLayout(files)
        self.folders = QListWidget(files)
        name(self.folders, "Folders read_file may read")
        _short_list(self.folders)
        self.folders.addItems(list(settings.read_file_folders))
        folders.addWidget(self.folders)
        buttons = QHBoxLayout()
        add = QPushButton("Add folder…", files)
        add.clicked.connect(self._add_folder)
        remove = QPushButton("Remove", files)
        remove.setAccessibleName("Remove folder")
        remove.clicked.connect(self.remove_folder)
        buttons.addWidget(add)
        buttons.addWidget(remove)
        buttons.addStretch(1)
        folders.addLayout(buttons)
        return files

    def _limits_box(self, settings: Settings) -> QGroupBox:
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
        self.timeout = QDoubleSpinBox(limits)
        self.timeout.setRange(1.0, 3600.0)
        self.timeout.setDecimals(0)
        self.timeout.setSingleStep(10.0)
        self.timeout.setSuffix(" s")
        self.timeout.setValue(settings.tool_timeout_s)
        form.addRow("Time a server's tool may take", self.timeout)
        form.addRow(
            "", wrapped_label("MCP servers take a new time from Ember's next start.", limits)
        )
        return limits

    # -- the settings it saves -----------------------------------------------------------------

    def values(self) -> dict[str, object]:
        return dict(
            tools_always_allowed=self.allowed.keys(),
            read_file_folders=[self.folders.item(i).text() for i in range(self.folders.count())],
            tool_step_limit=self.step_limit.value(),
            tool_result_max_chars=self.result_cap.value(),
            tool_timeout_s=float(self.timeout.value()),
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

    def _text_changed(self) -> None:
        """Say whether the text holds changes not saved yet; while it parses, the lists show
        its servers and their checkboxes."""
        from ember.tools.mcp_config import parse_servers

        self.note.setText(NOT_SAVED if self.edited else "")
        try:
            self.shown = parse_servers(self.editor.toPlainText(), "mcp.json")
        except EmberError:
            return  # (half typed: the lists stay as they were)
        self._say("")  # (a mistake named earlier is mended)
        if self._switching:  # (not while the box's own signal runs: its list is refilled)
            QTimer.singleShot(0, self, self._fill_servers)
        else:
            self._fill_servers()

    def _say(self, problem: str) -> None:
        """Show ``problem`` under the editor (or hide the line), scrolled into view."""
        self.error.setText(problem)
        self.error.setVisible(bool(problem))
        if problem:
            QTimer.singleShot(0, self, self._reveal_error)  # once the page is laid out again

    def _reveal_error(self) -> None:
        area = self.parentWidget()
        while area is not None and not isinstance(area, QScrollArea):
            area = area.parentWidget()
        if area is not None and self.error.isVisible():
            area.ensureWidgetVisible(self.save_button)
            area.ensureWidgetVisible(self.error)

    def save_servers(self, then: Callable[[], None] | None = None) -> bool:
        """Check the text; if it is valid, write it and restart the servers, then call ``then``
        (not after a failed write). A mistake is shown under the editor and nothing is written
        (the text stays as typed): False."""
        from ember.tools.mcp_config import parse_servers

        source = str(self.path) if self.path is not None else "mcp.json"
        try:
            servers = parse_servers(self.editor.toPlainText(), source)
        except EmberError as exc:
            self._say(str(exc))
            return False
        if self.saving:  # pressed again while the last one is written: that one finishes first
            return False
        self._say("")
        self._write(servers, then)
        return True

    def _write(self, servers: list[ServerConfig], then: Callable[[], None] | None) -> None:
        """Write the editor's text as ``servers`` to mcp.json and restart them, off the GUI
        thread. The editor then shows the file as written, unless the person typed in it
        meanwhile."""
        from ember.tools.mcp_config import save_servers

        if self.path is None:
            self.servers = servers
            if then is not None:
                then()
            return
        self.saving, self._then = True, then
        self.save_button.setEnabled(False)
        self.note.setText("Saving…")
        core, path, shown = self.core, self.path, self.editor.toPlainText()

        def job(_report: object) -> tuple[str, str]:
            save_servers(path, servers, text=shown)  # OSError / ConfigError: not saved
            text = path.read_text(encoding="utf-8")
            if core is None or self.tasks is None:
                return text, ""
            try:
                core.toolbox  # (made now, it reads the file just written)  # noqa: B018
                core.mcp_error = None
                if core.mcp_host is not None:
                    core.mcp_host.restart(servers)
            except Exception as exc:  # (saved: the failure to restart is said next to them)
                return text, f"Saved, but the servers did not restart: {exc}"
            return text, ""

        def done(result: tuple[str, str]) -> None:
            text, problem = result
            self.servers = servers
            if self.editor.toPlainText() == shown:
                self._show_saved(text)
            else:  # typed in while it was saved: the typing stays (and stays unsaved)
                self.saved_text = text
                self._text_changed()
            self._written(problem or "Saved: mcp.json written and the servers restarted.")
            self._say(problem)
            then, self._then = self._then, None
            if then is not None and not problem:
                then()  # (the dialog closes: nothing more to show)
            else:
                self.refresh()

        def failed(error: BaseException) -> None:
            self._written(NOT_SAVED)
            self._then = None
            self._say(f"The servers were not saved: {error}")

        if self.tasks is None:  # a dialog without a window: nothing runs the servers
            try:
                result = job(None)
            except (OSError, EmberError) as exc:
                failed(exc)
                return
            done(result)
            return
        self.tasks.run_background(
            "save-mcp", job, on_done=self._while_shown(done), on_error=self._while_shown(failed)
        )

    def _while_shown(self, callback: Callable[..., None]) -> Callable[..., None]:
        """``callback``, skipped once the dialog is gone: a listing or a save may end after
        the person closed Settings (the file is written all the same)."""
        from shiboken6 import isValid

        def call(*args: object) -> None:
            if isValid(self) and isValid(self.server_list):
                callback(*args)

        return call

    def _written(self, note: str) -> None:
        self.saving = False
        self.save_button.setEnabled(True)
        self.note.setText(NOT_SAVED if self.edited else note)

    # -- the servers' state ----------------------------------------------------------------------

    def refresh(self) -> None:
        """Each server's state and tools, asked off the GUI thread (the toolbox may start
        servers)."""
        core = self.core
        if core is None or self.tasks is None:
            self._fill_servers()
            return

        def job(_report: object) -> tuple[list, list]:
            infos = core.toolbox.infos()  # (makes the MCP host on first use)
            host = core.mcp_host
            return (host.status() if host is not None else []), infos

        self.tasks.run_background(
            "mcp-status",
            job,
            on_done=self._while_shown(self._listed),
            on_error=self._while_shown(lambda e: self._say(str(e))),
        )

    def _listed(self, result: tuple[list, list]) -> None:
        self.statuses, self.infos = result
        self._fill_servers()

    def _fill_servers(self, statuses: list | None = None) -> None:
        """One row per server of the editor's text (its last text that parsed): its name and
        state, its checkbox ``disabled``; the whole message is in the row's tooltip and, for the
        chosen server, in the line under the list."""
        if statuses is not None:
            self.statuses = statuses
        by_name = {s.name: s for s in self.statuses}
        self.logs = {s.name: s.log_path for s in self.statuses}
        saved = {s.name: s for s in self.servers}
        chosen = self._current()
        self.server_list.blockSignals(True)
        self.server_list.clear()
        for server in self.shown if self.shown or self.edited else self.servers:
            status = by_name.get(server.name)
            if saved.get(server.name) != server:
                state, message = "not saved yet", "Save servers to start it with these settings."
            elif status is not None:
                state, message = status.state, status.message
            else:
                state, message = ("off" if server.disabled else "stopped"), ""
            item = QListWidgetItem(f"{server.name} · {state}")
            item.setData(Qt.ItemDataRole.UserRole, server.name)
            item.setToolTip(f"{server.name} · {state}\n{message}" if message else "")
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(
                Qt.CheckState.Unchecked if server.disabled else Qt.CheckState.Checked
            )
            self.server_list.addItem(item)
            if chosen is not None and server.name == chosen.name:
                self.server_list.setCurrentItem(item)
        self.server_list.blockSignals(False)
        if self.server_list.count() and self.server_list.currentRow() < 0:
            self.server_list.setCurrentRow(0)
        self._show_tools()

    def _current(self) -> ServerConfig | None:
        item = self.server_list.currentItem()
        wanted = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        listed = self.shown if self.shown or self.edited else self.servers
        return next((s for s in listed if s.name == wanted), None)

    def _show_tools(self) -> None:
        from ember.ui.tools_menu import plain_tooltip

        server = self._current()
        item = self.server_list.currentItem()
        state = item.toolTip() if item is not None else ""
        self.detail.setText(state.replace("\n", ": ", 1))
        self.detail.setVisible(bool(state))
        self.tool_list.blockSignals(True)
        self.tool_list.clear()
        for info in self.infos:
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
        server = item.data(Qt.ItemDataRole.UserRole)
        off = item.checkState() != Qt.CheckState.Checked
        self._switch(self.server_list, item, lambda text: switched(text, server, disabled=off))

    def _tool_toggled(self, item: QListWidgetItem) -> None:
        server = self._current()
        if server is None:
            return
        remote = item.data(Qt.ItemDataRole.UserRole)
        off = item.checkState() != Qt.CheckState.Checked
        self._switch(
            self.tool_list,
            item,
            lambda text: switched(text, server.name, disabled=off, tool=remote),
        )

    def _switch(
        self, items: QListWidget, item: QListWidgetItem, edit: Callable[[str], str]
    ) -> None:
        """Apply a checkbox to the editor's text (undoable there; written by Save servers).
        Text that does not parse is not touched: the box goes back and the person is told."""
        try:
            text = edit(self.editor.toPlainText())
        except ConfigError as exc:
            items.blockSignals(True)
            on = item.checkState() == Qt.CheckState.Checked
            item.setCheckState(Qt.CheckState.Unchecked if on else Qt.CheckState.Checked)
            items.blockSignals(False)
            self._say(str(exc))
            return
        self._switching = True
        try:
            cursor = QTextCursor(self.editor.document())  # one undo step replaces all the text
            cursor.select(QTextCursor.SelectionType.Document)
            cursor.insertText(text)
        finally:
            self._switching = False

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
