"""Where the source viewer pane goes in the window: beside the chat, beside it with the sidebar
folded away, or over the chat, whichever the window's width allows without squeezing anything.

The window's splitter holds the sidebar, the chat column and the pane. Side by side is best (the
answer next to the page it cites), but a narrow window or a large system font leaves no room for
all three at their minimum widths. Then the sidebar folds away while the pane is open; if even the
chat and the pane do not fit together, the pane takes the chat column's place until it is closed
(Esc or ✕ bring the chat back). In every arrangement, closing the pane gives the keyboard focus
back to what had it when the pane was opened (the chip or ``[n]`` link that opened it; the last
one, when another opened the pane again while it was open), unless the person has since moved
the focus outside the pane. Resizing the window while the pane is open chooses again. :func:`plan_room` is the arithmetic; :class:`PaneRoom` applies it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ember.ui.qt import QApplication, QEvent, QObject, QSplitter, Qt, QWidget

Mode = Literal["beside", "folded", "over"]

PANE_SHARE = 0.5  # of the chat column's width the pane takes, when there is room
PANE_LEAST = 360  # px the pane takes, when there is room, however narrow the chat column


@dataclass(frozen=True, slots=True)
class Room:
    """Widths in px of the splitter's three parts (0: hidden) and how they are arranged."""

    mode: Mode
    sidebar: int
    chat: int
    pane: int


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(value, high))


def plan_room(
    width: int,
    handle: int,
    sidebar: tuple[int, int],
    chat: tuple[int, int],
    pane_min: int,
) -> Room:
    """Arrange the sidebar, the chat and the pane in ``width`` px with ``handle`` px between
    neighbours. ``sidebar`` and ``chat`` are (minimum, current) widths; nothing is given less
    than its minimum. Side by side when all three fit (the sidebar keeps its width if it can, the
    pane takes :data:`PANE_SHARE` of the chat's side, at least :data:`PANE_LEAST`); else the
    sidebar folds; else the pane is over the chat (with the sidebar if the two fit)."""
    sidebar_min, sidebar_now = sidebar
    chat_min, chat_now = chat
    wanted = max(pane_min, PANE_LEAST)
    if sidebar_min + chat_min + pane_min + 2 * handle <= width:
        rest = width - 2 * handle
        side = _clamp(sidebar_now, sidebar_min, rest - chat_min - pane_min)
        both = rest - side
        pane = _clamp(
            max(wanted, round(min(chat_now, both) * PANE_SHARE)), pane_min, both - chat_min
        )
        return Room("beside", side, both - pane, pane)
    if chat_min + pane_min + handle <= width:
        rest = width - handle
        pane = _clamp(max(wanted, round(rest * PANE_SHARE)), pane_min, rest - chat_min)
        return Room("folded", 0, rest - pane, pane)
    if sidebar_min + pane_min + handle <= width:
        side = _clamp(sidebar_now, sidebar_min, width - handle - wanted)
        return Room("over", side, 0, width - handle - side)
    return Room("over", 0, 0, width)


def least_width(widget: QWidget) -> int:
    """The width a layout will not go below: an explicit minimum, else the minimum size hint."""
    explicit = widget.minimumWidth()
    return explicit if explicit > 0 else max(0, widget.minimumSizeHint().width())


class PaneRoom(QObject):
    """Opens and closes ``pane`` (the splitter's last part) with room for it: see the module."""

    def __init__(self, splitter: QSplitter, pane: QWidget) -> None:
        super().__init__(pane)
        self.splitter = splitter
        self.pane = pane
        self.mode: Mode | None = None  # None: the pane is closed
        self._sidebar_width = 0  # the sidebar's width before it was folded
        self._focus: QWidget | None = None  # where the focus was before the pane opened
        splitter.installEventFilter(self)

    def _parts(self) -> tuple[QWidget | None, QWidget]:
        index = self.splitter.indexOf(self.pane)
        chat = self.splitter.widget(index - 1)
        sidebar = self.splitter.widget(index - 2) if index >= 2 else None
        return sidebar, chat

    def open(self) -> Room:
        """Show the pane, arranged for the splitter's width now."""
        if self.mode is None:
            self._focus = None
            self.opened_again()
        return self._place(force=True)

    def opened_again(self) -> None:
        """The pane opens (again) from what has the focus now: closing it goes back there (a
        focus inside the pane keeps the one before)."""
        focused = QApplication.focusWidget()
        if focused is not None and not self.pane.isAncestorOf(focused):
            self._focus = focused

    def close(self) -> None:
        """Hide the pane; what was folded or covered comes back, the chat with the pane's width."""
        if self.mode is None:
            return
        sidebar, chat = self._parts()
        index = self.splitter.indexOf(self.pane)
        sizes = self.splitter.sizes()
        focused = QApplication.focusWidget()
        in_pane = focused is None or self.pane.isAncestorOf(focused) or focused is self.pane
        self.mode = None
        self.pane.hide()
        side = 0
        if sidebar is not None:
            side = sizes[index - 2] if not sidebar.isHidden() else self._sidebar_width
            side = max(side, least_width(sidebar))
            sidebar.show()
            sizes[index - 2] = side
        chat.show()
        handles = max(0, self.splitter.handleWidth()) if sidebar is not None else 0
        sizes[index - 1] = max(least_width(chat), self.splitter.width() - side - handles)
        sizes[index] = 0
        self.splitter.setSizes(sizes)
        self.splitter.setMinimumWidth(0)  # the window's minimum is its own again
        focus, self._focus = self._focus, None
        try:
            if in_pane and focus is not None and focus.isVisible():
                focus.setFocus(Qt.FocusReason.OtherFocusReason)
        except RuntimeError:  # the widget went (a message redrawn) meanwhile
            pass

    def _place(self, force: bool = False) -> Room:
        sidebar, chat = self._parts()
        handle = max(0, self.splitter.handleWidth())  # (-1: the handle overlaps the parts)
        sidebar_min = least_width(sidebar) if sidebar is not None else 0
        chat_min = least_width(chat)
        # Whatever is shown, the window keeps the minimum it has without the pane: the pane
        # never makes it grow, and the person can still make it as narrow as before.
        self.splitter.setMinimumWidth(sidebar_min + (handle if sidebar else 0) + chat_min)
        sizes = self.splitter.sizes()
        index = self.splitter.indexOf(self.pane)
        if sidebar is not None and not sidebar.isHidden():
            self._sidebar_width = sizes[index - 2]
        chat_now = sizes[index - 1] + (0 if self.pane.isHidden() else sizes[index])
        room = plan_room(
            self.splitter.width(),
            handle,
            (sidebar_min, self._sidebar_width or sidebar_min),
            (chat_min, chat_now),
            least_width(self.pane),
        )
        if not force and room.mode == self.mode:
            return room  # the splitter shares the change out itself, as the person left it
        self.mode = room.mode
        # Hide first, then show: the window's minimum never counts all three at once.
        if sidebar is not None:
            sidebar.setVisible(room.sidebar > 0)
        chat.setVisible(room.chat > 0)
        self.pane.show()
        sizes[index - 1], sizes[index] = room.chat, room.pane
        if sidebar is not None:
            sizes[index - 2] = room.sidebar
        self.splitter.setSizes(sizes)
        return room

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.splitter and event.type() == QEvent.Type.Resize and self.mode:
            self._place()
        return False
