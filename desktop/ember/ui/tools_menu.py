"""Per chat: which tools the model may call (the composer's "Tools ▾" menu; none by default) and
whether reasoning models' Thinking blocks show (the chat menu's "Show thinking").

Both are stored with the chat (``ChatStore.set_tools`` / ``set_show_thinking``) through the chats
worker; a new chat keeps the choice until a send creates it, then writes it. Listing the tools
asks the toolbox (which may start MCP servers) on a background thread, never on the GUI thread.

The list is fetched before the menu opens (when the pointer or the focus reaches the button, and
when a chat with tools shows) and kept; each opening refreshes it in the background. A menu that
changes while open is placed again inside its screen. Ticking a tool keeps the menu open, so
several can be chosen at once; tools that ask before they run say so, and a server that failed
or is turned off shows as a greyed line with why.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ember.tools.types import BUILTIN
from ember.ui.accessibility import name
from ember.ui.qt import QAction, QEvent, QKeyEvent, QMenu, QObject, QPoint, Qt, QToolButton

if TYPE_CHECKING:
    from ember.chats.records import Conversation
    from ember.core import Core
    from ember.tools.types import ToolInfo

log = logging.getLogger(__name__)

PROBLEM_CHARS = 60  # of a server's message shown in the menu (all of it in the tooltip)
ARROW = "  ▾"  # as on "No documents  ▾" beside it


@dataclass(frozen=True, slots=True)
class ToolList:
    """What the Tools menu shows: the tools (built-ins first), the names of those that ask
    before they run (``asks``) and of those the person always allows (``allowed``), and each
    configured server that offers none, with why: ``problems`` as (server, message)."""

    infos: tuple[ToolInfo, ...] = ()
    asks: frozenset[str] = frozenset()
    allowed: frozenset[str] = frozenset()
    problems: tuple[tuple[str, str], ...] = ()


def list_tools_of(core: Core) -> ToolList:
    """The toolbox's tools and the MCP servers' state (may start servers: off the GUI thread)."""
    toolbox = core.toolbox
    infos = tuple(toolbox.infos())
    asks = frozenset(i.name for i in infos if toolbox.needs_approval(i))
    allowed = frozenset(
        i.name for i in infos if i.name not in asks and not (i.server == BUILTIN and i.read_only)
    )
    problems: list[tuple[str, str]] = []
    if core.mcp_error:
        problems.append(("mcp.json", core.mcp_error))
    host = core.mcp_host
    for status in host.status() if host is not None else ():
        if status.state == "failed":
            problems.append((status.name, f"failed: {status.message}"))
        elif status.state == "stopped" and status.message == "disabled":
            problems.append((status.name, "turned off in Settings → Tools"))
    return ToolList(infos, asks, allowed, tuple(problems))


def short(text: str, limit: int = PROBLEM_CHARS) -> str:
    """``text``'s first line, cut to ``limit`` characters with "…"."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


class StayOpenMenu(QMenu):
    """A menu whose checkable entries tick and untick without closing it (mouse, Enter,
    Space); other entries act as usual."""

    _pressed: QAction | None = None

    def _tickable(self, action: QAction | None) -> bool:
        return (
            action is not None
            and action.isCheckable()
            and action.isEnabled()
            and action.menu() is None
        )

    def mousePressEvent(self, event: Any) -> None:  # (a QMouseEvent)
        self._pressed = self.actionAt(event.position().toPoint())
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event: Any) -> None:
        action = self.actionAt(event.position().toPoint())
        pressed, self._pressed = self._pressed, None
        if event.button() == Qt.MouseButton.LeftButton and self._tickable(action):
            if action is pressed:  # (a press elsewhere, dragged here, ticks nothing)
                action.trigger()  # type: ignore[union-attr]
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        keys = (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space)
        if event.key() in keys and self._tickable(self.activeAction()):
            self.activeAction().trigger()
            event.accept()
            return
        super().keyPressEvent(event)


def plain_tooltip(text: str) -> str:
    """``text`` (a tool's description, from its server: untrusted) as a tooltip that shows it
    as typed. Qt reads a tooltip that looks like HTML as HTML (images, links, styles): here it
    is escaped inside a paragraph that keeps its line breaks."""
    if not text:
        return ""
    return f'<p style="white-space: pre-wrap">{html.escape(text, quote=False)}</p>'


def tools_label(count: int) -> str:
    """The button's text: "Tools  ▾", or how many are on ("Tools: 2  ▾")."""
    return (f"Tools: {count}" if count else "Tools") + ARROW


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
        self.listing: ToolList | None = None  # as last listed (None: not yet)
        self._listing_now = False  # a listing is on its way
        self._chat_id: int | None = None  # the chat these belong to (None: a new chat)
        generation.chosen_tools = lambda: self.tools

        self.button = QToolButton(window.composer.frame)
        self.button.setObjectName("ToolsButton")
        self.button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.button.setToolTip("Which tools the model may use in this chat")
        name(self.button, "Tools", "Which tools the model may use in this chat")
        self.menu = StayOpenMenu(self.button)
        self.menu.setToolTipsVisible(True)
        self.menu.aboutToShow.connect(self.list_tools)  # (filled already: refreshed meanwhile)
        self.button.setMenu(self.menu)
        self.button.installEventFilter(self)  # the pointer or the focus on it: list the tools
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
        if self.tools:  # (which of them are still there shows at once)
            self.prefetch()

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

    @property
    def infos(self) -> list[ToolInfo]:
        """The tools as last listed (built-ins first)."""
        return list(self.listing.infos) if self.listing is not None else []

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.button and event.type() in (QEvent.Type.Enter, QEvent.Type.FocusIn):
            self.prefetch()
        return super().eventFilter(watched, event)

    def prefetch(self) -> None:
        """List the tools now unless they are listed already (before the menu opens)."""
        if self.listing is None:
            self.list_tools()

    def list_tools(self) -> None:
        """Ask the toolbox for its tools (built-ins first, then MCP servers') and the servers'
        state off the GUI thread; the menu is filled (again) when they come."""
        if self._listing_now:
            return
        self._listing_now = True
        core = self.core

        def failed(error: BaseException) -> None:
            self._listing_now = False
            log.warning("could not list the tools: %s", error)

        self.tasks.run_background(
            "list-tools", lambda _report: list_tools_of(core), on_done=self._listed, on_error=failed
        )

    def _listed(self, listing: ToolList) -> None:
        self._listing_now = False
        if listing == self.listing:
            return  # (an open menu is left as it is)
        self.listing = listing
        self._fill_menu()
        self._refit()

    def _refit(self) -> None:
        """An open menu whose entries changed: its new size, kept inside its screen (below
        the button where it fits, else above it)."""
        menu = self.menu
        if not menu.isVisible():
            return
        old = menu.geometry()
        menu.adjustSize()
        size = menu.sizeHint()
        menu.resize(size)
        screen = menu.screen() or self.button.screen()
        free = screen.availableGeometry()
        top = self.button.mapToGlobal(QPoint(0, 0)).y()
        above = old.top() < top  # it opened above the button: it grows upwards
        y = old.bottom() + 1 - size.height() if above else old.top()
        if not above and y + size.height() > free.bottom() + 1:
            y = top - size.height()  # no room below the button: above it
        x = max(free.left(), min(old.left(), free.right() + 1 - size.width()))
        y = max(free.top(), min(y, free.bottom() + 1 - size.height()))
        menu.move(x, y)

    def _fill_menu(self) -> None:
        self.button.setText(tools_label(len(self.tools)))
        self.menu.clear()
        listing = self.listing or ToolList()
        if self.listing is None:
            self.menu.addAction("Listing tools…").setEnabled(False)
        server = None
        for info in listing.infos:
            if not info.enabled:
                continue
            if info.server != server:
                server = info.server
                self.menu.addSection(server.replace("&", "&&"))  # "&" is not a shortcut
            label = info.name
            if info.name in listing.asks:
                label += " — asks first"
            elif info.name in listing.allowed:
                label += " — always allowed"
            self._tool_action(label, info.name, plain_tooltip(info.description))
        if listing.problems:
            self.menu.addSection("Not available")
            for where, why in listing.problems:
                line = self.menu.addAction(f"{where} — {short(why)}".replace("&", "&&"))
                line.setEnabled(False)
                line.setToolTip(plain_tooltip(f"{where}: {why}"))
        missing = [n for n in self.tools if n not in {i.name for i in listing.infos}]
        if self.listing is not None and missing:  # chosen before, gone now: can be unset
            self.menu.addSection("No longer available")
            for tool in missing:
                self._tool_action(tool, tool, "")

    def _tool_action(self, label: str, tool: str, tooltip: str) -> None:
        action = self.menu.addAction(label.replace("&", "&&"))
        action.setData(tool)
        action.setCheckable(True)
        action.setChecked(tool in self.tools)
        if tooltip:
            action.setToolTip(tooltip)
        action.toggled.connect(lambda on, n=tool: self._toggle(n, on))

    def _toggle(self, tool: str, on: bool) -> None:
        names = [n for n in self.tools if n != tool]
        if on:
            names.append(tool)
        self.set_tools(tuple(names))
