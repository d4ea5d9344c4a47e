"""Per chat: which tools the model may call (the composer's "Tools" menu; none by default) and
whether reasoning models' Thinking blocks show (the chat menu's "Show thinking").

Both are stored with the chat (``ChatStore.set_tools`` / ``set_show_thinking``) through the chats
worker; a new chat keeps the choice until a send creates it, then writes it. Listing the tools
asks the toolbox (which may start MCP servers) on a background thread, never on the GUI thread.
"""

from __future__ import annotations

import html
import logging
from typing import TYPE_CHECKING, Any

from ember.ui.accessibility import name
from ember.ui.qt import QMenu, QObject, QToolButton

if TYPE_CHECKING:
    from ember.chats.records import Conversation
    from ember.tools.types import ToolInfo

log = logging.getLogger(__name__)


def plain_tooltip(text: str) -> str:
    """``text`` (a tool's description, from its server: untrusted) as a tooltip that shows it
    as typed. Qt reads a tooltip that looks like HTML as HTML (images, links, styles): here it
    is escaped inside a paragraph that keeps its line breaks."""
    if not text:
        return ""
    return f'<p style="white-space: pre-wrap">{html.escape(text, quote=False)}</p>'


def tools_label(count: int) -> str:
    """The button's text: "Tools", or how many are on."""
    return f"Tools: {count}" if count else "Tools"


class ChatTools(QObject):
    """The open chat's tools and thinking choice; ``window`` gives the core, the task manager,
    the conversations, the chat view, the composer and the chat menu; ``generation`` reads
    :attr:`tools` at each send."""

    def __init__(self, window: Any, generation: Any) -> None:
        super().__init__(window)
        self.core = window.core
        self.tasks = window.tasks
        self.conversations = window.conversations
        self.chat = window.chat
        self.tools: tuple[str, ...] = ()  # names the open (or new) chat lets the model call
        self.show_thinking = True
        self.infos: list[ToolInfo] = []  # as last listed
        self._chat_id: int | None = None  # the chat these belong to (None: a new chat)
        generation.chosen_tools = lambda: self.tools

        self.button = QToolButton(window.composer.frame)
        self.button.setObjectName("ToolsButton")
        self.button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.button.setToolTip("Which tools the model may use in this chat")
        name(self.button, "Tools", "Which tools the model may use in this chat")
        self.menu = QMenu(self.button)
        self.menu.aboutToShow.connect(self.list_tools)
        self.button.setMenu(self.menu)
        row = window.composer.frame.layout()
        row.insertWidget(row.count() - 1, self.button)  # before Send
        self.thinking_action = window.more_menu.addAction("Show thinking")
        self.thinking_action.setCheckable(True)
        self.thinking_action.setChecked(True)
        self.thinking_action.toggled.connect(self.set_show_thinking)
        self.conversations.shown.connect(self._chat_shown)
        self.conversations.opened.connect(self._chat_opened)
        self._fill_menu()

    # -- the open chat ---------------------------------------------------------------------------

    def _chat_shown(self, chat: Conversation | None) -> None:
        """Another chat shows (None: a new one): its own choices."""
        self._chat_id = chat.id if chat is not None else None
        self.tools = tuple(chat.tools) if chat is not None else ()
        shown = chat.show_thinking if chat is not None else True
        self.show_thinking = shown
        self.thinking_action.blockSignals(True)
        self.thinking_action.setChecked(shown)
        self.thinking_action.blockSignals(False)
        self.chat.set_show_thinking(shown)
        self._fill_menu()

    def _chat_opened(self, chat_id: int) -> None:
        """A send created the new chat: what was chosen for it is written now."""
        if self._chat_id == chat_id:
            return
        self._chat_id = chat_id
        if self.tools:
            self._write_tools()
        if not self.show_thinking:
            self._write_thinking()

    # -- choices ---------------------------------------------------------------------------------

    def set_tools(self, names: tuple[str, ...]) -> None:
        """The tools the model may call in the open chat (kept with the chat)."""
        self.tools = tuple(names)
        self.button.setText(tools_label(len(self.tools)))  # (the menu's checks say it already)
        if self._chat_id is not None:
            self._write_tools()

    def set_show_thinking(self, shown: bool) -> None:
        """Show or hide the open chat's Thinking blocks (kept with the chat)."""
        self.show_thinking = shown
        self.chat.set_show_thinking(shown)
        if self.thinking_action.isChecked() != shown:
            self.thinking_action.setChecked(shown)
        if self._chat_id is not None:
            self._write_thinking()

    def _write_tools(self) -> None:
        chat_id, tools = self._chat_id, self.tools
        self.conversations.db.call(
            "set-tools", lambda store: store.set_tools(chat_id, tools), failure="Tools not chosen"
        )

    def _write_thinking(self) -> None:
        chat_id, shown = self._chat_id, self.show_thinking
        self.conversations.db.call(
            "set-show-thinking",
            lambda store: store.set_show_thinking(chat_id, shown),
            failure="Thinking choice not saved",
        )

    # -- the menu --------------------------------------------------------------------------------

    def list_tools(self) -> None:
        """Ask the toolbox for its tools (built-ins first, then MCP servers') off the GUI
        thread; the menu fills in when they come."""
        core = self.core

        def job(_report: object) -> list[ToolInfo]:
            return core.toolbox.infos()  # may start MCP servers

        self.tasks.run_background(
            "list-tools",
            job,
            on_done=self._listed,
            on_error=lambda error: log.warning("could not list the tools: %s", error),
        )

    def _listed(self, infos: list[ToolInfo]) -> None:
        self.infos = list(infos)
        self._fill_menu()

    def _fill_menu(self) -> None:
        self.button.setText(tools_label(len(self.tools)))
        self.menu.clear()
        if not self.infos:
            self.menu.addAction("Listing tools…").setEnabled(False)
        server = None
        for info in self.infos:
            if not info.enabled:
                continue
            if info.server != server:
                server = info.server
                self.menu.addSection(server.replace("&", "&&"))  # "&" is not a shortcut
            action = self.menu.addAction(info.name.replace("&", "&&"))
            action.setCheckable(True)
            action.setChecked(info.name in self.tools)
            action.setToolTip(plain_tooltip(info.description))
            action.toggled.connect(lambda on, n=info.name: self._toggle(n, on))
        self.menu.setToolTipsVisible(True)
        missing = [n for n in self.tools if n not in {i.name for i in self.infos}]
        if self.infos and missing:  # chosen before, gone now (a server removed): can be unset
            self.menu.addSection("No longer available")
            for tool in missing:
                action = self.menu.addAction(tool.replace("&", "&&"))
                action.setCheckable(True)
                action.setChecked(True)
                action.toggled.connect(lambda on, n=tool: self._toggle(n, on))

    def _toggle(self, tool: str, on: bool) -> None:
        names = [n for n in self.tools if n != tool]
        if on:
            names.append(tool)
        self.set_tools(tuple(names))
