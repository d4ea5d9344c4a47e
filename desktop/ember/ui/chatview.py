"""The conversation: one bubble per message, streamed answers updated in place.

Long threads stay fast because nothing re-renders the whole conversation: a streaming answer
collects tokens in memory and its own bubble re-renders at most every ``RENDER_INTERVAL_MS``.
Only the newest ``PAGE`` messages get widgets; older ones appear on request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ember.ui.bubble import BubbleData, MessageBubble
from ember.ui.qt import (
    QApplication,
    QColor,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSize,
    Qt,
    QTimer,
    QUrl,
    QVBoxLayout,
    QWidget,
    Signal,
)

if TYPE_CHECKING:
    from ember.chats.records import Message

RENDER_INTERVAL_MS = 50
SPARE_REFILL_MS = 500  # a used spare bubble is replaced this long after
COLUMN_MAX_WIDTH = 920
PAGE = 60


class EmptyState(QWidget):
    """What a new chat shows: what Ember is, and a few things to try."""

    suggestionPicked = Signal(str)

    SUGGESTIONS = (
        "Explain what a context window is, briefly.",
        "Write a Python function that reverses a string.",
        "Give me three ideas for a short weekend trip.",
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        hero = QLabel("How can I help?", self)
        hero.setObjectName("Hero")
        hero.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(hero)
        sub = QLabel(
            "Ember runs on this computer. Your chats and documents never leave it.\n"
            "Drop files or folders here to ask questions about them.",
            self,
        )
        sub.setObjectName("Muted")
        sub.setAlignment(Qt.AlignmentFlag.AlignCenter)
        sub.setWordWrap(True)  # a narrow window wraps it rather than cutting it off
        layout.addWidget(sub)
        layout.addSpacing(16)
        # One chip a line, centred: side by side they are wider than the chat's column even at
        # 1,400 px, and the column cut them off on both sides.
        for text in self.SUGGESTIONS:
            button = QPushButton(text, self)
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            button.clicked.connect(lambda _=False, t=text: self.suggestionPicked.emit(t))
            layout.addWidget(button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(3)


class ChatView(QScrollArea):
    """The scrolling list of bubbles for one conversation."""

    linkRequested = Signal(QUrl)
    citationRequested = Signal(object)  # tuple[Citation, ...]: the passages of one cited page
    regenerateRequested = Signal()
    updateIndexRequested = Signal(object)  # tuple[StaleSource, ...] to index again
    editRequested = Signal(object)
    versionRequested = Signal(object, int)  # (MessageBubble, id of its version to show)
    suggestionPicked = Signal(str)
    stepCancelRequested = Signal(object)  # Cancel on a running tool step: the step's id

    def __init__(self, code_color: QColor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ChatArea")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.code_color = code_color
        # A centred column of readable width, like a page, however wide the window is.
        page = QWidget(self)
        row = QHBoxLayout(page)
        row.setContentsMargins(0, 0, 0, 0)
        self._container = QWidget(page)
        self._container.setMaximumWidth(COLUMN_MAX_WIDTH)
        row.addStretch(1)
        row.addWidget(self._container, 100)
        row.addStretch(1)
        self._layout = QVBoxLayout(self._container)
        self._layout.setContentsMargins(24, 16, 24, 16)
        self._layout.setSpacing(6)
        self._more = QPushButton("Show earlier messages", self._container)
        self._more.clicked.connect(self._show_earlier)
        self._more.hide()
        self._layout.addWidget(self._more, 0, Qt.AlignmentFlag.AlignHCenter)
        self.empty = EmptyState(self._container)
        self.empty.suggestionPicked.connect(self.suggestionPicked.emit)
        self._layout.addWidget(self.empty, 1)
        self._layout.addStretch(0)
        self.setWidget(page)
        self.bubbles: list[MessageBubble] = []
        self._hidden: list[BubbleData] = []
        self.streaming: MessageBubble | None = None
        self.show_thinking = True  # the open chat shows reasoning models' Thinking blocks
        self._stick_to_bottom = True
        self.verticalScrollBar().rangeChanged.connect(self._on_range_changed)
        self.verticalScrollBar().valueChanged.connect(self._on_scrolled)
        self._spares: dict[str, MessageBubble] = {}  # built ahead, by role (see warm_up)
        self._timer = QTimer(self)
        self._timer.setInterval(RENDER_INTERVAL_MS)
        self._timer.timeout.connect(self._flush_streaming)

    def minimumSizeHint(self) -> QSize:
        """At least as wide as the empty state (its widest chip): the column never scrolls
        sideways, so anything wider would be cut off."""
        hint = super().minimumSizeHint()
        margins = self._layout.contentsMargins()
        scroll_bar = self.verticalScrollBar().sizeHint().width()
        needed = self.empty.minimumSizeHint().width() + margins.left() + margins.right()
        return QSize(max(hint.width(), needed + scroll_bar + 2 * self.frameWidth()), hint.height())

    # -- building -------------------------------------------------------------------------------

    def clear(self) -> None:
        self.stop_streaming()
        for bubble in self.bubbles:
            bubble.setParent(None)  # type: ignore[call-overload]
            bubble.deleteLater()
        self.bubbles.clear()
        self._hidden.clear()
        self._more.hide()
        self.empty.show()

    def show_messages(self, messages: list[Message]) -> None:
        self.clear()
        data = [BubbleData.from_message(m) for m in messages if m.role != "system"]
        self._hidden = data[:-PAGE] if len(data) > PAGE else []
        for item in data[-PAGE:]:
            self.add_bubble(item)
        self._more.setVisible(bool(self._hidden))
        self._update_actions()
        self._stick_to_bottom = True
        QTimer.singleShot(0, self.scroll_to_bottom)

    def _show_earlier(self) -> None:
        batch, self._hidden = self._hidden[-PAGE:], self._hidden[:-PAGE]
        for offset, item in enumerate(batch):
            self._insert_bubble(item, 2 + offset, index=offset)  # after 'more' and empty
        self._more.setVisible(bool(self._hidden))

    def add_bubble(self, data: BubbleData) -> MessageBubble:
        return self._insert_bubble(data, self._layout.count() - 1, index=len(self.bubbles))

    def _insert_bubble(self, data: BubbleData, position: int, index: int) -> MessageBubble:
        self.empty.hide()
        spare = self._spares.pop(data.role, None)
        if spare is not None:
            spare.adopt(data)
            bubble = spare
            self._refill_spares_later()
        else:
            bubble = self._new_bubble(data)
        bubble.set_show_thinking(self.show_thinking)
        if data.citations:
            bubble.set_citations(data.citations)
            bubble.flush()
        self._layout.insertWidget(position, bubble)
        bubble.show()
        self.bubbles.insert(index, bubble)
        return bubble

    def remove_from(self, bubble: MessageBubble) -> None:
        """Drop ``bubble`` and everything after it (regenerate, edit and resend)."""
        if bubble not in self.bubbles:
            return
        index = self.bubbles.index(bubble)
        for gone in self.bubbles[index:]:
            gone.setParent(None)  # type: ignore[call-overload]
            gone.deleteLater()
        del self.bubbles[index:]
        if not self.bubbles and not self._hidden:
            self.empty.show()

    def _update_actions(self) -> None:
        """Only the last answer offers Regenerate."""
        last_answer = next((b for b in reversed(self.bubbles) if b.data.role == "assistant"), None)
        for bubble in self.bubbles:
            busy = self.streaming is not None
            bubble.regenerate_button.setVisible(bubble is last_answer and not busy)
            bubble.edit_button.setVisible(bubble.data.role == "user" and not busy)
            bubble.versions.setEnabled(not busy)

    def show_from(self, bubble: MessageBubble, messages: list[Message]) -> None:
        """Show the chat as ``messages`` (its branch) reads from ``bubble``'s message on, after a
        switch to another version of it: ``bubble`` shows that version, and what follows it is
        built again (what comes before is unchanged)."""
        if bubble not in self.bubbles:
            return
        at = next((i for i, m in enumerate(messages) if m.id in bubble.data.versions), None)
        if at is None:
            return
        following = self.bubbles.index(bubble) + 1
        if following < len(self.bubbles):
            self.remove_from(self.bubbles[following])
        shown = BubbleData.from_message(messages[at])
        bubble.adopt(shown)  # in place: keyboard focus stays on its switcher
        bubble.set_citations(shown.citations)
        bubble.set_stale(())
        bubble.flush()
        for message in messages[at + 1 :]:
            if message.role != "system":
                self.add_bubble(BubbleData.from_message(message))
        self._update_actions()

    def set_show_thinking(self, shown: bool) -> None:
        """Show or hide every answer's Thinking block (the open chat's choice)."""
        self.show_thinking = shown
        for bubble in self.bubbles:
            bubble.set_show_thinking(shown)

    @staticmethod
    def _copy(text: str) -> None:
        QApplication.clipboard().setText(text)

    # -- streaming ----------------------------------------------------------------------------

    def warm_up(self) -> None:
        """Build one spare bubble per role now, while nothing else happens.

        A bubble's first build pays for importing the Markdown renderer and PySide6's wrapper
        types (about 45 ms here), and every build pays for matching the style sheet to its ten
        widgets: on a busy machine, done at Send, that was the longest stall the person saw. A
        spare is built and polished ahead, hidden, and only filled in when a message needs it."""
        if self.streaming is not None:
            return  # not while an answer streams: stop_streaming() refills
        for role in ("user", "assistant"):
            if role not in self._spares:
                self._spares[role] = self._new_bubble(BubbleData(role=role))

    def _refill_spares_later(self) -> None:
        QTimer.singleShot(SPARE_REFILL_MS, self, self.warm_up)  # once things settle

    def _new_bubble(self, data: BubbleData) -> MessageBubble:
        bubble = MessageBubble(data, self.code_color, self._container)
        bubble.hide()
        bubble.linkRequested.connect(self.linkRequested.emit)
        bubble.citationRequested.connect(self.citationRequested.emit)
        bubble.copyRequested.connect(self._copy)
        bubble.regenerateRequested.connect(self.regenerateRequested.emit)
        bubble.editRequested.connect(self.editRequested.emit)
        bubble.versionRequested.connect(lambda i, b=bubble: self.versionRequested.emit(b, i))
        bubble.updateIndexRequested.connect(self.updateIndexRequested.emit)
        bubble.stepCancelRequested.connect(self.stepCancelRequested.emit)
        bubble.ensurePolished()  # the style sheet is matched now, not when it is shown
        return bubble

    def start_streaming(self, data: BubbleData) -> MessageBubble:
        self.streaming = self.add_bubble(data)
        self._update_actions()
        self._stick_to_bottom = True
        self._timer.start()
        return self.streaming

    def _flush_streaming(self) -> None:
        if self.streaming is not None:
            self.streaming.flush()

    def stop_streaming(self) -> None:
        self._timer.stop()
        if self.streaming is not None:
            self.streaming.flush()
            self._refill_spares_later()
        self.streaming = None
        self._update_actions()

    # -- scrolling ----------------------------------------------------------------------------

    def _on_scrolled(self, value: int) -> None:
        bar = self.verticalScrollBar()
        self._stick_to_bottom = value >= bar.maximum() - 24

    def _on_range_changed(self, _low: int, high: int) -> None:
        if self._stick_to_bottom:
            self.verticalScrollBar().setValue(high)

    def scroll_to_bottom(self) -> None:
        self.verticalScrollBar().setValue(self.verticalScrollBar().maximum())
