"""A reasoning model's thinking, above its answer: a collapsible "Thinking" block, collapsed
when the answer starts, shown as plain text and never mixed into the answer's text.

The text is a :class:`~ember.ui.markdown.SafeTextBrowser` holding plain text, not a label: a label
cannot break a long unbroken run (a URL, a line of code) and would widen the whole answer to it."""

from __future__ import annotations

from ember.ui.accessibility import name
from ember.ui.markdown import SafeTextBrowser
from ember.ui.qt import QFrame, Qt, QToolButton, QVBoxLayout, QWidget


class ThinkingBlock(QFrame):
    """The toggle ("Thinking", with an arrow) over the thinking text. Hidden while there is no
    thinking, or while the chat hides thinking (:meth:`set_allowed`)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Thinking")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 2)
        layout.setSpacing(2)
        self.toggle = QToolButton(self)
        self.toggle.setObjectName("ThinkingToggle")
        self.toggle.setText("Thinking")
        self.toggle.setCheckable(True)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.toggle.toggled.connect(self._expand)
        name(self.toggle, "Thinking", "Show or hide the model's reasoning before its answer")
        layout.addWidget(self.toggle)
        self.text = SafeTextBrowser(self)  # the model's words as plain text, never markup
        self.text.setObjectName("ThinkingText")
        name(self.text, "Thinking")
        self.text.hide()
        layout.addWidget(self.text)
        self.thinking = ""
        self.allowed = True
        self.hide()

    def set_thinking(self, text: str) -> None:
        """The whole thinking so far (collapsed unless the person opened it)."""
        if text != self.thinking:  # (drawn again at each frame of a streaming answer)
            self.thinking = text
            self.text.set_plain(text.strip())
        self._update()

    def set_allowed(self, allowed: bool) -> None:
        """Whether the chat shows thinking blocks at all."""
        self.allowed = allowed
        self._update()

    def reset(self) -> None:
        self.toggle.setChecked(False)
        self.set_thinking("")

    def _update(self) -> None:
        self.setVisible(self.allowed and bool(self.thinking.strip()))

    def _expand(self, expanded: bool) -> None:
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if expanded else Qt.ArrowType.RightArrow)
        self.text.setVisible(expanded)

    @property
    def expanded(self) -> bool:
        return self.toggle.isChecked()
