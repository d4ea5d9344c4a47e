"""One message of the conversation as the window shows it: a bubble with the text (Markdown;
:class:`~ember.ui.chatview.ChatView` re-renders a streaming one on a timer), its sources, its state
and its actions (copy, edit, regenerate, the ‹ 2/3 › version switcher)."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ember.ui import accessibility, message
from ember.ui.flow_layout import FlowLayout
from ember.ui.qt import (
    QColor,
    QFrame,
    QHBoxLayout,
    QLabel,
    QSignalBlocker,
    QSizePolicy,
    Qt,
    QTimer,
    QToolButton,
    QUrl,
    QVBoxLayout,
    QWidget,
    Signal,
)
from ember.ui.version_switcher import VersionSwitcher

if TYPE_CHECKING:
    from ember.chats.records import Message, ToolStep
    from ember.knowledge.types import Citation, StaleSource
    from ember.ui.markdown import SafeTextBrowser

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
    versions: tuple[int, ...] = ()  # ids of every version of the message (see VersionSwitcher)
    thinking: str = ""  # a reasoning model's thinking (shown apart, never in ``text``)
    steps: tuple[ToolStep, ...] = ()  # tool calls made while answering, in order

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
            versions=m.versions,
            thinking=m.thinking,
            steps=m.steps,
        )


class MessageBubble(QFrame):
    """One message: author line, the rendered text, sources, and its actions."""

    linkRequested = Signal(QUrl)
    citationRequested = Signal(object)  # tuple[Citation, ...]: the passages of one cited page
    copyRequested = Signal(str)
    regenerateRequested = Signal()
    editRequested = Signal(object)  # BubbleData
    versionRequested = Signal(int)  # the id of the version of this message to show
    updateIndexRequested = Signal(object)  # tuple[StaleSource, ...]
    stepCancelRequested = Signal(object)  # Cancel on a running tool step: the step's id

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
        self.author.setTextFormat(Qt.TextFormat.PlainText)  # a model's name: never markup
        self.state_label = QLabel("", self.card)
        self.state_label.setObjectName("State")
        self.meta = QLabel("", self.card)
        self.meta.setObjectName("Meta")
        header.addWidget(self.author)
        header.addWidget(self.state_label)
        header.addStretch(1)
        header.addWidget(self.meta)
        card.addLayout(header)

        from ember.ui.thinking_block import ThinkingBlock
        from ember.ui.tool_steps import AnswerTimeline

        self.thinking = ThinkingBlock(self.card)  # above the answer, collapsed
        card.addWidget(self.thinking)

        # The renderer loads with the first message, not before the window's first paint.
        from ember.ui.markdown import SafeTextBrowser

        self.body = SafeTextBrowser(self.card)  # the text before the first tool step, if any
        self.body.linkRequested.connect(self._on_link)
        card.addWidget(self.body)
        self.timeline = AnswerTimeline(self._markdown, self._on_segment_link, self.card)
        self.timeline.cancelRequested.connect(self.stepCancelRequested.emit)
        card.addWidget(self.timeline)  # tool steps, each followed by the text after it
        self.cards = QVBoxLayout()  # an approval card waiting for the person's answer
        card.addLayout(self.cards)

        self.error_label = QLabel("", self.card)
        self.error_label.setObjectName("Error")
        self.error_label.setWordWrap(True)
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)  # may quote a server: not markup
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

        self.versions = VersionSwitcher(self.card)  # ‹ 2/3 ›, first in the Tab order of its row
        self.versions.versionChosen.connect(self.versionRequested.emit)
        actions = QHBoxLayout()
        actions.setSpacing(2)
        actions.addWidget(self.versions)
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
        self.thinking.reset()
        self.thinking.set_thinking(data.thinking)
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
        user = self.data.role == "user"
        self.body.setAccessibleName("Your message" if user else f"Answer from {self.author.text()}")
        # While it streams, its re-renders are not reported to screen readers (Qt reports each
        # as a text update, from the document's signals): the ended answer is announced once.
        streaming = self.data.state == "streaming"
        with QSignalBlocker(self.body.document()) if streaming else nullcontext():
            self._draw()

    def _draw(self) -> None:
        if self.data.role == "user":
            self.body.set_plain(self.data.text)
            return
        text, steps = self.data.text, self.data.steps
        self.thinking.set_thinking(self.data.thinking)
        if not text and not steps and self.data.state == "streaming":
            self.body.set_plain(self.placeholder)
            return
        from ember.ui.tool_steps import AnswerTimeline

        pieces = AnswerTimeline.split(text, steps)
        self._code_blocks = self._markdown(self.body, pieces[0])
        self.body.setVisible(bool(pieces[0].strip()) or not steps)
        self.timeline.show_steps(steps, pieces)

    def _markdown(self, view: SafeTextBrowser, text: str) -> list[str]:
        """Draw ``text`` as Markdown into the text view ``view``; its code blocks, in order."""
        from ember.ui.markdown import render_markdown

        cited = frozenset(c.n for c in self.data.citations)
        safe = render_markdown(view.document(), text, cited, self._code_color)
        view._fit()
        if safe.formulas and not self._awaiting_math:
            from ember.ui import markdown_math

            if not markdown_math.ready():  # shown as their source until mathtext has loaded
                self._awaiting_math = True
                markdown_math.when_ready(self, self._math_ready)
        return safe.code_blocks

    def _math_ready(self) -> None:
        self._awaiting_math = False
        self._render()

    def append(self, piece: str) -> None:
        """Add streamed text; the visible text catches up on the next :meth:`flush`."""
        self.data.text += piece
        self._dirty = True

    def append_thinking(self, piece: str) -> None:
        """Add streamed thinking (shown in the Thinking block, never in the text)."""
        self.data.thinking += piece
        self._dirty = True

    def set_step(self, step: ToolStep) -> None:
        """A tool step was added or changed: shown at its place in the text at the next flush."""
        steps = [s for s in self.data.steps if s.id != step.id]
        steps.append(step)
        self.data.steps = tuple(sorted(steps, key=lambda s: s.position))
        self._dirty = True
        self.flush()  # a step is shown at once, not at the next frame
        accessibility.reorder(self)

    def set_show_thinking(self, shown: bool) -> None:
        """Whether this answer's Thinking block shows (the chat's choice)."""
        self.thinking.set_allowed(shown)

    def show_card(self, card: QWidget) -> None:
        """Put ``card`` (an approval card) at the end of the answer, where the next step goes."""
        self.cards.addWidget(card)
        card.show()
        accessibility.reorder(self)

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
            accessibility.source_chip(chip, f"Source {chip_text(group)}")
            chip.clicked.connect(lambda _=False, g=group: self.citationRequested.emit(g))
            self.sources_layout.addWidget(chip)
        self.sources_row.show()
        accessibility.reorder(self)  # Tab: the text, then these chips, then the actions
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
        data.steps = data.steps or self.data.steps
        data.thinking = data.thinking or self.data.thinking
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
        self.versions.show_versions(d.message_id, d.versions)

    def set_versions(self, versions: tuple[int, ...]) -> None:
        """The ids of every version of this message, now that it is stored."""
        self.data.versions = versions
        self.versions.show_versions(self.data.message_id, versions)

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

    def _on_segment_link(self, url: QUrl, code_blocks: list[str]) -> None:
        """A link in the text after a tool step (its Copy links index its own code blocks)."""
        from ember.ui.markdown import COPY_SCHEME

        if url.scheme() == COPY_SCHEME:
            index = int(url.path() or 0)
            if 0 <= index < len(code_blocks):
                self.copyRequested.emit(code_blocks[index])
                message.info("Code copied to the clipboard.")
            return
        self._on_link(url)

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
