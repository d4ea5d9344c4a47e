"""The conversation: one bubble per message, streamed answers updated in place.

Long threads stay fast because nothing re-renders the whole conversation: a streaming answer
collects tokens in memory and its own bubble re-renders at most every ``RENDER_INTERVAL_MS``.
Only the newest ``PAGE`` messages get widgets; older ones appear on request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ember.ui import message
from ember.ui.flow_layout import FlowLayout
from ember.ui.qt import (
    QApplication,
    QColor,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSize,
    QSizePolicy,
    Qt,
    QTimer,
    QToolButton,
    QUrl,
    QVBoxLayout,
    QWidget,
    Signal,
)

if TYPE_CHECKING:
    from ember.chats.records import Message
    from ember.knowledge.types import Citation, StaleSource

RENDER_INTERVAL_MS = 50
SPARE_REFILL_MS = 500  # a used spare bubble is replaced this long after
COLUMN_MAX_WIDTH = 920
PAGE = 60
COPIED_MS = 1500  # how long a Copy button says "Copied"

_STATE_TEXT = {
    "cancelled": "Stopped",
    "interrupted": "Interrupted — Ember closed while writing this",
    "error": "Failed",
    "streaming": "",
}


@dataclass(slots=True)
class BubbleData:
    """What a bubble shows; built from a stored Message or while streaming."""

    role: str
    text: str = ""
    message_id: int | None = None
    model: str = ""
    state: str = "done"
    error: str | None = None
    ttft_s: float | None = None
    tokens_per_s: float | None = None
    completion_tokens: int | None = None
    citations: tuple[Citation, ...] = ()

    @classmethod
    def from_message(cls, m: Message) -> BubbleData:
        return cls(
            role=m.role,
            text=m.content,
            message_id=m.id,
            model=m.model,
            state=m.state,
            error=m.error,
            ttft_s=m.ttft_s,
            tokens_per_s=m.tokens_per_s,
            completion_tokens=m.completion_tokens,
            citations=m.citations,
        )


class MessageBubble(QFrame):
    """One message: author line, the rendered text, sources, and its actions."""

    linkRequested = Signal(QUrl)
    citationRequested = Signal(object)  # tuple[Citation, ...]: the passages of one cited page
    copyRequested = Signal(str)
    regenerateRequested = Signal()
    editRequested = Signal(object)  # BubbleData
    updateIndexRequested = Signal(object)  # tuple[StaleSource, ...]

    def __init__(self, data: BubbleData, code_color: QColor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data = data
        self._code_color = code_color
        self._code_blocks: list[str] = []
        self._dirty = False
        self.placeholder = "…"  # what an answer shows before its first token
        self._awaiting_math = False  # drawn again once mathtext has loaded
        self.setObjectName("Bubble")
        self.setProperty("role", data.role)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)

        outer = QHBoxLayout(self)
        outer.setContentsMargins(0, 4, 0, 4)
        self.card = QFrame(self)
        self.card.setObjectName("BubbleCard")
        card = QVBoxLayout(self.card)
        card.setContentsMargins(14, 10, 14, 8)
        card.setSpacing(4)
        if data.role == "user":
            outer.addStretch(1)
            outer.addWidget(self.card, 6)
        else:
            outer.addWidget(self.card, 12)
            outer.addStretch(1)

        header = QHBoxLayout()
        header.setSpacing(8)
        self.author = QLabel(self._author_text(), self.card)
        self.author.setObjectName("Author")
        self.state_label = QLabel("", self.card)
        self.state_label.setObjectName("State")
        self.meta = QLabel("", self.card)
        self.meta.setObjectName("Meta")
        header.addWidget(self.author)
        header.addWidget(self.state_label)
        header.addStretch(1)
        header.addWidget(self.meta)
        card.addLayout(header)

        # The renderer loads with the first message, not before the window's first paint.
        from ember.ui.markdown import SafeTextBrowser

        self.body = SafeTextBrowser(self.card)
        self.body.linkRequested.connect(self._on_link)
        card.addWidget(self.body)

        self.error_label = QLabel("", self.card)
        self.error_label.setObjectName("Error")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        card.addWidget(self.error_label)

        self.stale_label = QLabel("", self.card)  # sources left out: deleted or changed files
        self.stale_label.setObjectName("Muted")
        self.stale_label.setWordWrap(True)
        self.stale_label.setTextFormat(Qt.TextFormat.RichText)
        self.stale_label.linkActivated.connect(
            lambda _link: self.updateIndexRequested.emit(self._stale)
        )
        self.stale_label.hide()
        self._stale: tuple[StaleSource, ...] = ()
        card.addWidget(self.stale_label)

        self.sources_row = QWidget(self.card)  # chips wrap onto more lines, never widen the answer
        self.sources_layout = FlowLayout(self.sources_row, spacing=6)
        self.sources_layout.setContentsMargins(0, 2, 0, 0)
        self.sources_row.hide()
        card.addWidget(self.sources_row)

        actions = QHBoxLayout()
        actions.setSpacing(2)
        actions.addStretch(1)
        self.copy_button = QToolButton(self.card)
        self.copy_button.setText("Copy")
        self.copy_button.setToolTip("Copy this message")
        self.copy_button.clicked.connect(self._copy_message)
        self.edit_button = QToolButton(self.card)
        self.edit_button.setText("Edit")
        self.edit_button.setToolTip("Edit this message and send it again")
        self.edit_button.clicked.connect(lambda: self.editRequested.emit(self.data))
        self.regenerate_button = QToolButton(self.card)
        self.regenerate_button.setText("Regenerate")
        self.regenerate_button.setToolTip("Answer this question again")
        self.regenerate_button.clicked.connect(self.regenerateRequested.emit)
        for button in (self.edit_button, self.regenerate_button, self.copy_button):
            actions.addWidget(button)
        # Tab goes left to right, as they are shown (not in the order they were made).
        QWidget.setTabOrder(self.edit_button, self.regenerate_button)
        QWidget.setTabOrder(self.regenerate_button, self.copy_button)
        self.edit_button.setVisible(data.role == "user")
        self.regenerate_button.setVisible(False)
        card.addLayout(actions)

        self._render()
        self._update_meta()

    # -- content ----------------------------------------------------------------------------

    def adopt(self, data: BubbleData) -> None:
        """Show ``data`` in this (spare, never shown) bubble of the same role."""
        assert data.role == self.data.role, "a spare bubble is laid out for its role"
        self.data = data
        self.placeholder = "…"
        self.author.setText(self._author_text())
        self._render()
        self._update_meta()

    def set_placeholder(self, text: str) -> None:
        """What the answer shows until its first token ("Loading the model…")."""
        self.placeholder = text
        if not self.data.text and self.data.state == "streaming":
            self._render()

    def _author_text(self) -> str:
        if self.data.role == "user":
            return "You"
        model = self.data.model.removesuffix(".gguf")
        return model or "Ember"

    def _render(self) -> None:
        self._dirty = False
        if self.data.role == "user":
            self.body.set_plain(self.data.text)
            return
        text = self.data.text
        if not text and self.data.state == "streaming":
            self.body.set_plain(self.placeholder)
            return
        from ember.ui.markdown import render_markdown

        cited = frozenset(c.n for c in self.data.citations)
        safe = render_markdown(self.body.document(), text, cited, self._code_color)
        self._code_blocks = safe.code_blocks
        self.body._fit()
        if safe.formulas and not self._awaiting_math:
            from ember.ui import markdown_math

            if not markdown_math.ready():  # shown as their source until mathtext has loaded
                self._awaiting_math = True
                markdown_math.when_ready(self, self._math_ready)

    def _math_ready(self) -> None:
        self._awaiting_math = False
        self._render()

    def append(self, piece: str) -> None:
        """Add streamed text; the visible text catches up on the next :meth:`flush`."""
        self.data.text += piece
        self._dirty = True

    def flush(self) -> None:
        if self._dirty:
            self._render()

    def set_citations(self, citations: tuple[Citation, ...]) -> None:
        """One chip per cited page (see :mod:`ember.ui.sources`): a chip's click, and each of
        its numbers in the text, asks for its passages."""
        from ember.ui.sources import chip_text, chip_tooltip, group_citations

        self.data.citations = citations
        while self.sources_layout.count():
            item = self.sources_layout.takeAt(0)
            widget = item.widget()
            if widget is not None:
                widget.deleteLater()
        if not citations:
            self.sources_row.hide()
            return
        title = QLabel("Sources", self.sources_row)
        title.setObjectName("Meta")
        self.sources_layout.addWidget(title)
        for group in group_citations(citations):
            chip = QToolButton(self.sources_row)
            chip.setObjectName("Chip")
            chip.setText(chip_text(group))
            chip.setToolTip(chip_tooltip(group))
            chip.clicked.connect(lambda _=False, g=group: self.citationRequested.emit(g))
            self.sources_layout.addWidget(chip)
        self.sources_row.show()
        self._dirty = True

    def set_stale(self, stale: tuple[StaleSource, ...]) -> None:
        """Name the files left out of this answer (deleted or changed since they were indexed),
        with a link that updates the index."""
        from html import escape
        from pathlib import Path

        from ember.files import shown_path

        self._stale = stale
        names = ", ".join(f"{escape(shown_path(Path(s.path).name))} ({s.state})" for s in stale)
        self.stale_label.setText(
            f"Left out (no longer as indexed): {names}. "
            '<a href="ember:update-index">Update index</a>'
        )
        self.stale_label.setVisible(bool(stale))

    def finish(self, data: BubbleData) -> None:
        """The stored outcome: final text, state, timings."""
        citations = data.citations or self.data.citations
        self.data = data
        self.data.citations = citations
        self.author.setText(self._author_text())
        self.set_citations(citations)
        self._render()
        self._update_meta()

    def fail(self, message: str) -> None:
        self.data.state = "error"
        self.data.error = message
        self._render()
        self._update_meta()

    def _update_meta(self) -> None:
        d = self.data
        parts = []
        if d.role == "assistant":
            if d.tokens_per_s:
                parts.append(f"{d.tokens_per_s:.0f} tok/s")
            if d.ttft_s is not None:
                parts.append(f"first token {d.ttft_s:.2f} s")
            if d.completion_tokens:
                parts.append(f"{d.completion_tokens} tokens")
        self.meta.setText(" · ".join(parts))
        self.state_label.setText(_STATE_TEXT.get(d.state, ""))
        if d.state == "error" and d.error:
            self.error_label.setText(d.error)
            self.error_label.show()
        else:
            self.error_label.hide()
        self.copy_button.setEnabled(d.state != "streaming")

    # -- copying ------------------------------------------------------------------------------

    def _copy_message(self) -> None:
        """Copy the whole message; the button says "Copied" for a moment."""
        self.copyRequested.emit(self.data.text)
        self.copy_button.setText("Copied")
        self.copy_button.setToolTip("Copied to the clipboard")
        QTimer.singleShot(COPIED_MS, self, self._copy_reset)

    def _copy_reset(self) -> None:
        self.copy_button.setText("Copy")
        self.copy_button.setToolTip("Copy this message")

    # -- links --------------------------------------------------------------------------------

    def _on_link(self, url: QUrl) -> None:
        from ember.ui.markdown import CITE_SCHEME, COPY_SCHEME

        scheme = url.scheme()
        if scheme == CITE_SCHEME:
            from ember.ui.sources import group_citations, group_of

            group = group_of(group_citations(self.data.citations), int(url.path() or 0))
            if group is not None:
                self.citationRequested.emit(group)
        elif scheme == COPY_SCHEME:
            index = int(url.path() or 0)
            if 0 <= index < len(self._code_blocks):
                self.copyRequested.emit(self._code_blocks[index])
                message.info("Code copied to the clipboard.")
        else:
            self.linkRequested.emit(url)


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
    suggestionPicked = Signal(str)

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
        bubble.updateIndexRequested.connect(self.updateIndexRequested.emit)
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
