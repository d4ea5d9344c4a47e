"""A tool call inside an answer: one collapsible row ("calculator · built-in · 0.4 s") with
the exact arguments and what the tool returned, shown between the answer's text where the model
made the call (:class:`AnswerTimeline` keeps text, step, text... in order).

What a tool returned is untrusted text: it is shown as plain text, never rendered as Markdown or
HTML, and a long result is cut at :data:`RESULT_PREVIEW_CHARS` with "Show all".
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from ember.ui.accessibility import name
from ember.ui.qt import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    Qt,
    QTextOption,
    QToolButton,
    QUrl,
    QVBoxLayout,
    QWidget,
    Signal,
)

if TYPE_CHECKING:
    from ember.chats.records import ToolStep
    from ember.ui.markdown import SafeTextBrowser

RESULT_PREVIEW_CHARS = 2000  # of a result shown before "Show all"
# A line longer than this (minified JSON, base64) is broken anywhere, not at word boundaries:
# Qt's word-boundary wrap of one long run takes seconds per 100 000 characters on the GUI thread.
LONG_LINE_CHARS = 1000

# What a step that did not run to the end says in its row.
_STATE_TEXT = {
    "approval": "waiting for your approval",
    "running": "running…",
    "error": "failed",
    "denied": "denied — not run",
    "cancelled": "cancelled",
    "interrupted": "interrupted — Ember closed while it ran",
}
# An interrupted step that never got an answer (its decision is None) did not run at all.
_UNANSWERED_TEXT = "interrupted — Ember closed before you answered"


def state_text(step: ToolStep) -> str:
    """What the row says about ``step``'s state ("" once it ran to the end)."""
    if step.state == "interrupted" and step.decision is None:
        return _UNANSWERED_TEXT
    return _STATE_TEXT.get(step.state, "")


def duration_text(seconds: float) -> str:
    """A step's time as shown: "0.4 s", "12.0 s"; under a tenth of a second "< 0.1 s" (a
    fast tool is not "0.0 s")."""
    return "< 0.1 s" if seconds < 0.1 else f"{seconds:.1f} s"


def pretty_arguments(arguments: str) -> str:
    """The model's arguments (JSON text) indented, keys in the model's order; as given when
    they are not JSON."""
    try:
        return json.dumps(json.loads(arguments), indent=2, ensure_ascii=False)
    except (ValueError, TypeError):
        return arguments


def step_title(step: ToolStep) -> str:
    """The row's one line: tool, server and (once it ended) its time."""
    parts = [step.tool, step.server]  # (no emoji: many systems draw it as an empty box)
    if step.duration_s is not None and step.state in ("done", "error"):
        parts.append(duration_text(step.duration_s))
    return " · ".join(parts)


def set_plain(box: QPlainTextEdit, text: str) -> None:
    """Put ``text`` in ``box``, wrapped anywhere when it has a line too long to wrap by words."""
    longest = max((len(line) for line in text.splitlines()), default=0)
    box.setWordWrapMode(
        QTextOption.WrapMode.WrapAnywhere
        if longest > LONG_LINE_CHARS
        else QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere
    )
    box.setPlainText(text)


def _plain_box(parent: QWidget, text: str, accessible: str) -> QPlainTextEdit:
    box = QPlainTextEdit(parent)
    box.setReadOnly(True)
    box.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
    set_plain(box, text)
    box.setObjectName("ToolText")
    box.setTabChangesFocus(True)
    lines = min(12, max(1, text.count("\n") + 1 + len(text) // 90))
    box.ensurePolished()  # the stylesheet's font (monospace, scaled with the system's) first
    margins = box.contentsMargins()  # the frame and the stylesheet's padding
    inside = 2 * box.document().documentMargin() + margins.top() + margins.bottom()
    box.setFixedHeight(box.fontMetrics().lineSpacing() * lines + int(inside) + 2)
    name(box, accessible)
    return box


class StepRow(QFrame):
    """One tool step: a toggle row (collapsed at first) over its arguments and result. While it
    runs it shows a busy bar and a Cancel button (:attr:`cancelRequested`, with the step's id);
    while it waits for approval it has no Cancel (the approval card's Deny answers it)."""

    cancelRequested = Signal(object)  # the step's id

    def __init__(self, step: ToolStep, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ToolStep")
        self.step = step
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.setSpacing(4)
        head = QHBoxLayout()
        head.setSpacing(6)
        self.toggle = QToolButton(self)
        self.toggle.setObjectName("StepToggle")
        self.toggle.setCheckable(True)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.toggle.toggled.connect(self._expand)
        head.addWidget(self.toggle)
        self.state_label = QLabel("", self)
        self.state_label.setObjectName("Muted")
        head.addWidget(self.state_label)
        head.addStretch(1)
        self.busy = QProgressBar(self)  # a running step: indeterminate
        self.busy.setRange(0, 0)
        self.busy.setFixedWidth(60)
        self.busy.setTextVisible(False)
        name(self.busy, "Tool running")
        head.addWidget(self.busy)
        self.cancel_button = QToolButton(self)
        self.cancel_button.setText("Cancel")
        self.cancel_button.clicked.connect(lambda: self.cancelRequested.emit(self.step.id))
        head.addWidget(self.cancel_button)
        layout.addLayout(head)

        self.details = QWidget(self)
        self.details_layout = QVBoxLayout(self.details)
        self.details_layout.setContentsMargins(18, 0, 0, 0)
        self.details_layout.setSpacing(2)
        self.details.hide()
        layout.addWidget(self.details)
        self.show_all: QToolButton | None = None
        self.result_box: QPlainTextEdit | None = None
        self.update_step(step)

    def update_step(self, step: ToolStep) -> None:
        """Show ``step`` as now stored (its state, time, result)."""
        self.step = step
        self.toggle.setText(step_title(step))
        name(self.toggle, f"Tool step: {step.tool} on {step.server}, {self._state_words()}")
        self.state_label.setText(state_text(step))
        running = step.state == "running"
        self.busy.setVisible(running)
        self.cancel_button.setVisible(running)
        name(self.cancel_button, f"Cancel {step.tool}")
        self._fill_details()

    def _state_words(self) -> str:
        return state_text(self.step) or "done"

    def _fill_details(self) -> None:
        while self.details_layout.count():
            item = self.details_layout.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.show_all = None
        step = self.step
        self._caption("Arguments")
        self.arguments_box = _plain_box(
            self.details, pretty_arguments(step.arguments), f"Arguments of {step.tool}"
        )
        self.details_layout.addWidget(self.arguments_box)
        if step.state == "denied":
            self._caption("You denied this call: the tool did not run.")
            return
        result = step.error if step.state == "error" and step.error else step.result
        if not result and step.state in ("running", "approval"):
            return
        self._caption("Error" if step.state == "error" else "Result")
        preview = result
        if len(result) > RESULT_PREVIEW_CHARS:
            preview = result[:RESULT_PREVIEW_CHARS] + "…"
        self.result_box = _plain_box(self.details, preview, f"Result of {step.tool}")
        self.details_layout.addWidget(self.result_box)
        if step.truncated:
            self._caption("The result was cut to fit the model's context.")
        if preview != result:
            self.show_all = QToolButton(self.details)
            self.show_all.setText(f"Show all ({len(result):,} characters)")
            self.show_all.clicked.connect(lambda: self._show_everything(result))
            self.details_layout.addWidget(self.show_all, 0, Qt.AlignmentFlag.AlignLeft)

    def _caption(self, text: str) -> None:
        label = QLabel(text, self.details)
        label.setObjectName("Meta")
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setWordWrap(True)
        self.details_layout.addWidget(label)

    def _show_everything(self, result: str) -> None:
        if self.result_box is not None:
            set_plain(self.result_box, result)
            self.result_box.setFixedHeight(self.result_box.fontMetrics().lineSpacing() * 20 + 16)
        if self.show_all is not None:
            self.show_all.hide()

    def _expand(self, expanded: bool) -> None:
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if expanded else Qt.ArrowType.RightArrow)
        self.details.setVisible(expanded)

    @property
    def expanded(self) -> bool:
        return self.toggle.isChecked()


class AnswerTimeline(QWidget):
    """What follows the first stretch of an answer's text: each step, then the text after it.

    The bubble's own text view shows the text before the first step; ``render`` (a function
    drawing Markdown into a text view) draws each later stretch. Links in those views go to
    ``on_link`` with the stretch's code blocks (for its Copy links)."""

    cancelRequested = Signal(object)  # the id of the step whose Cancel was pressed

    def __init__(
        self,
        render: Callable[[SafeTextBrowser, str], list[str]],
        on_link: Callable[[QUrl, list[str]], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._render = render
        self._on_link = on_link
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(4)
        self.rows: list[StepRow] = []
        self.texts: list[SafeTextBrowser] = []
        self._drawn: list[str | None] = []
        self._blocks: list[list[str]] = []
        self.hide()

    @staticmethod
    def split(text: str, steps: tuple[ToolStep, ...]) -> list[str]:
        """``text`` cut at each step's offset: the stretch before the first step, then the
        stretch after each step (``len(steps) + 1`` pieces)."""
        offsets = [min(max(0, s.text_offset), len(text)) for s in steps]
        pieces, start = [], 0
        for offset in offsets:
            offset = max(offset, start)
            pieces.append(text[start:offset])
            start = offset
        pieces.append(text[start:])
        return pieces

    def show_steps(self, steps: tuple[ToolStep, ...], pieces: list[str]) -> None:
        """Rows for ``steps`` (in position order) and the text after each (``pieces[1:]``)."""
        from ember.ui.markdown import SafeTextBrowser

        while len(self.rows) > len(steps):
            for widget in (self.rows.pop(), self.texts.pop()):
                widget.setParent(None)  # type: ignore[call-overload]
                widget.deleteLater()
            self._drawn.pop()
            self._blocks.pop()
        for index, step in enumerate(steps):
            if index < len(self.rows):
                if self.rows[index].step != step:
                    self.rows[index].update_step(step)
                continue
            row = StepRow(step, self)
            row.cancelRequested.connect(self.cancelRequested.emit)
            view = SafeTextBrowser(self)
            view.linkRequested.connect(lambda url, i=index: self._on_link(url, self._blocks[i]))
            self._layout.addWidget(row)
            self._layout.addWidget(view)
            self.rows.append(row)
            self.texts.append(view)
            self._drawn.append(None)
            self._blocks.append([])
        for index, piece in enumerate(pieces[1:]):
            if index < len(self.texts) and self._drawn[index] != piece:
                self._drawn[index] = piece
                self.texts[index].setVisible(bool(piece.strip()))
                self._blocks[index] = self._render(self.texts[index], piece)
        self.setVisible(bool(steps))
