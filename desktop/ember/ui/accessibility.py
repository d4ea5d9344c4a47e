"""What screen readers and keyboard users get: names for controls whose text alone says too
little, the window's Tab order, and one announcement when an answer is finished.

- :func:`name` gives a control its accessible name (and description).
- :class:`FocusOrder` keeps Tab going the way the window reads: the sidebar (New chat, search,
  chats, documents, Settings), the top bar, the conversation (each message's text, its sources,
  its actions), the composer and Send, then the status bar. Messages are built while the window
  runs, so Qt would put them after everything else; the order is set again when they change.
- :func:`announce_answer` tells a screen reader once that an answer is done, stopped or failed
  (a streaming answer's text changes are not reported while it streams: see
  :class:`~ember.ui.bubble.MessageBubble`).
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from ember.ui.qt import (
    QAbstractButton,
    QAccessible,
    QAccessibleAnnouncementEvent,
    QComboBox,
    QEvent,
    QLayout,
    QMainWindow,
    QObject,
    QScrollArea,
    QSplitter,
    Qt,
    QTimer,
    QWidget,
)

ANNOUNCE_MAX_CHARS = 400  # of the answer's text read out with "Answer finished"


def name(widget: QWidget, text: str, description: str = "") -> QWidget:
    """Set ``widget``'s accessible name (what a screen reader calls it) and, if given, its
    description (what it does, when the name alone does not say); returns ``widget``."""
    widget.setAccessibleName(text)
    if description:
        widget.setAccessibleDescription(description)
    return widget


def label_of(widget: QWidget) -> str:
    """What a screen reader calls ``widget``: its accessible name, else the text of the label
    it is the buddy of ("" if neither)."""
    if widget.accessibleName():
        return widget.accessibleName()
    iface = QAccessible.queryAccessibleInterface(widget)
    for other, _relation in iface.relations(QAccessible.RelationFlag.Label) if iface else ():
        return str(other.text(QAccessible.Text.Name)).rstrip(": ")
    return ""


def name_popups(root: QWidget) -> None:
    """Name the drop-down list of each combo box under ``root`` (and ``root`` itself, if it is
    one) after the combo box ("Model"): Qt leaves the list unnamed, and a screen reader meets it
    as a nameless list when it opens."""
    combos = root.findChildren(QComboBox)
    for combo in [root, *combos] if isinstance(root, QComboBox) else combos:
        named = label_of(combo)
        combo.view().setAccessibleName(f"{named} choices" if named else "Choices")


class _ClickOnEnter(QObject):
    """Enter (as well as Space) presses the button it watches."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and event.key() in (  # type: ignore[attr-defined]
            Qt.Key.Key_Return,
            Qt.Key.Key_Enter,
        ):
            watched.click()  # type: ignore[attr-defined]
            return True
        return False


def source_chip(chip: QAbstractButton, text: str) -> None:
    """Name a source chip ``text`` ("Source [1] manual.pdf · p. 12") and let Enter open it, as
    Space does: a chip reads like a link, and Enter is what a keyboard user tries on one."""
    name(chip, text, "Opens the cited passage")
    chip.installEventFilter(_ClickOnEnter(chip))


# -- announcements ------------------------------------------------------------------------------


def answer_announcement(state: str, text: str, error: str | None = None) -> str:
    """What a screen reader says when an answer ends: ``state`` is the message's state ("done",
    "cancelled", "error", ...), ``text`` the answer as shown (plain text), ``error`` why it
    failed. "Answer finished: …" (the text's start, at most :data:`ANNOUNCE_MAX_CHARS`),
    "Answer stopped: …", "Answer failed: …"."""
    shown = " ".join(text.split())
    if len(shown) > ANNOUNCE_MAX_CHARS:
        shown = shown[: ANNOUNCE_MAX_CHARS - 1].rstrip() + "…"
    if state == "error":
        return f"Answer failed: {error or 'unknown error'}"
    if state == "cancelled":
        return f"Answer stopped: {shown}" if shown else "Answer stopped."
    return f"Answer finished: {shown}" if shown else "Answer finished."


def announcement_event(widget: QWidget, text: str, assertive: bool = False) -> Any:
    """The announcement event for ``text`` from ``widget`` (Qt 6.8+), polite unless
    ``assertive`` (a failure interrupts what the screen reader is saying)."""
    event = QAccessibleAnnouncementEvent(widget, text)
    politeness = QAccessible.AnnouncementPoliteness
    event.setPoliteness(politeness.Assertive if assertive else politeness.Polite)
    return event


def post_announcement(widget: QWidget, text: str, assertive: bool = False) -> None:
    """Have screen readers say ``text`` (nothing happens when none is running)."""
    QAccessible.updateAccessibility(announcement_event(widget, text, assertive))


def announce_answer(widget: QWidget, state: str, text: str, error: str | None = None) -> str:
    """Announce, once, that the answer shown in ``widget`` ended (see :func:`answer_announcement`);
    returns what was announced."""
    said = answer_announcement(state, text, error)
    post_announcement(widget, said, assertive=state == "error")
    return said


def announce_ended(bubble: Any) -> str:
    """Announce that the answer in ``bubble`` (a :class:`~ember.ui.bubble.MessageBubble`) ended,
    as it now shows; returns what was announced."""
    data = bubble.data
    return announce_answer(bubble.body, data.state, bubble.body.toPlainText(), data.error)


# -- Tab order ----------------------------------------------------------------------------------


def takes_tab(widget: QWidget) -> bool:
    """Whether Tab stops at ``widget`` (when it is shown and enabled)."""
    return bool(widget.focusPolicy().value & Qt.FocusPolicy.TabFocus.value)


def in_reading_order(root: QWidget) -> list[QWidget]:
    """The widgets under ``root`` that Tab stops at, in the order their layouts show them (top
    to bottom, left to right); ``root`` first if it takes Tab itself. Widgets outside any
    layout (spare, never shown) and other windows are left out."""
    found: list[QWidget] = []

    def widget(w: QWidget) -> None:
        if w.isWindow() and w is not root:
            return
        if takes_tab(w):
            found.append(w)
        if isinstance(w, QMainWindow):
            for part in (w.centralWidget(), w.statusBar()):
                if part is not None:
                    widget(part)
        elif isinstance(w, QScrollArea):
            if w.widget() is not None:
                widget(w.widget())
        elif isinstance(w, QSplitter):
            for i in range(w.count()):
                widget(w.widget(i))
        elif isinstance(own := QWidget.layout(w), QLayout):
            # (A layout Qt has deleted can come back from PySide as whatever object now has its
            # address, a QSpacerItem: only a QLayout is walked.)
            layout(own)

    def layout(lay: QLayout) -> None:
        for i in range(lay.count()):
            item = lay.itemAt(i)
            if item is None:
                continue
            if item.widget() is not None:
                widget(item.widget())
            elif isinstance(inner := item.layout(), QLayout):
                layout(inner)

    widget(root)
    return found


def set_tab_order(widgets: list[QWidget]) -> None:
    """Tab goes through ``widgets`` in this order (Shift+Tab the other way)."""
    for first, second in pairwise(widgets):
        QWidget.setTabOrder(first, second)


def reorder(widget: QWidget) -> None:
    """Tab order again, soon, for the window holding ``widget``, which just gained or lost
    controls (a message's chips, a notice's link); outside the main window, only its own."""
    order = getattr(widget.window(), "focus_order", None)
    if isinstance(order, FocusOrder):
        order.schedule()
    else:
        set_tab_order(in_reading_order(widget))


class FocusOrder(QObject):
    """Keeps ``window``'s Tab order in reading order (:func:`in_reading_order`) while its
    conversation's messages come and go: when the chat's column lays itself out and its
    messages (or their sources) changed, the order is set again, once per turn of the event
    loop."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self._column = window.chat.widget()  # the scroll area's page, holding the messages
        self._signature: tuple[object, ...] = ()
        self._due = False
        self._column.installEventFilter(self)
        for child in self._column.findChildren(QWidget):
            if child.layout() is not None and child.parentWidget() is self._column:
                child.installEventFilter(self)  # the centred column of messages
        self.apply()

    def _messages(self) -> tuple[object, ...]:
        """What decides the order: which messages are shown, and how many sources each has."""
        return tuple(
            (id(b), b.sources_layout.count(), b.card.layout().count())
            for b in self.window.chat.bubbles
        )

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind in (QEvent.Type.LayoutRequest, QEvent.Type.ChildAdded, QEvent.Type.ChildRemoved):
            if not self._due and self._messages() != self._signature:
                self.schedule()
        return False

    def schedule(self) -> None:
        """Set the order at the event loop's next turn (once, however often asked before)."""
        if not self._due:
            self._due = True
            QTimer.singleShot(0, self, self.apply)

    def apply(self) -> None:
        """Set the whole window's Tab order now."""
        self._due = False
        self._signature = self._messages()
        set_tab_order(in_reading_order(self.window))


def install(window: Any) -> FocusOrder:
    """Name the main window's own controls that say too little by their text, and keep its
    Tab order (see :class:`FocusOrder`)."""
    name(window.more_button, "More chat actions", "Rename, export or delete this chat")
    # (Without a description of their own, their tooltips describe them.)
    # (The documents button's name is its text, "Documents: manuals", however it is shortened.)
    window.collections_button.setAccessibleDescription("Which documents answer in this chat")
    name(window.model_picker, "Model")
    name_popups(window.model_picker)
    name(window.undo_button, "Undo deleting the chat")
    return FocusOrder(window)
