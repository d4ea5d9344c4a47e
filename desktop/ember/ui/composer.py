"""Where the person types: Enter sends, Shift+Enter starts a new line, Esc stops an answer.

Under the box: why sending is disabled (if it is) and, for a long message, its size in tokens
(:mod:`ember.ui.token_count` keeps it; a message too long for the model is not sent)."""

from __future__ import annotations

from collections.abc import Callable

from ember.ui.accessibility import name
from ember.ui.qt import (
    QEvent,
    QFrame,
    QHBoxLayout,
    QKeyEvent,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    Qt,
    QToolButton,
    QVBoxLayout,
    QWidget,
    Signal,
)


class _Input(QPlainTextEdit):
    submitted = Signal()
    escaped = Signal()
    fontChanged = Signal()  # the system's text size changed: the box is sized again

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self.fontChanged.emit()

    def event(self, event: QEvent) -> bool:
        # Esc here is the box's (stop the answer, or cancel editing a message), not the
        # window's "Stop the answer" shortcut, which would take it first and leave an edit open.
        override = event.type() == QEvent.Type.ShortcutOverride
        if override and event.key() == Qt.Key.Key_Escape:  # type: ignore[attr-defined]
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                self.insertPlainText("\n")
            else:
                self.submitted.emit()
            event.accept()
            return
        if key == Qt.Key.Key_Escape:
            self.escaped.emit()
            event.accept()
            return
        super().keyPressEvent(event)


class Composer(QWidget):
    """The message box with its Send / Stop button and the reason it is disabled, if it is."""

    sendRequested = Signal(str)
    stopRequested = Signal()
    editCancelled = Signal()
    escapedIdle = Signal()  # Esc with no answer to stop and no edit to cancel (closes the viewer)

    MIN_LINES = 2
    MAX_LINES = 10

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(24, 6, 24, 10)
        outer.setSpacing(4)

        self.edit_banner = QFrame(self)
        self.edit_banner.setObjectName("EditBanner")
        banner = QHBoxLayout(self.edit_banner)
        banner.setContentsMargins(10, 4, 4, 4)
        # Editing makes a version (ember.chats.branches): nothing earlier is lost.
        self.edit_label = QLabel(
            "Editing your message — sending makes a new version; the earlier one stays a click "
            "away (‹ › on the message)."
        )
        self.edit_label.setWordWrap(True)
        banner.addWidget(self.edit_label, 1)
        cancel_edit = QToolButton(self.edit_banner)
        cancel_edit.setText("Cancel")
        name(cancel_edit, "Cancel editing")
        cancel_edit.clicked.connect(self.cancel_edit)
        banner.addWidget(cancel_edit)
        self.edit_banner.hide()
        outer.addWidget(self.edit_banner)

        self.frame = QFrame(self)
        self.frame.setObjectName("Composer")
        row = QHBoxLayout(self.frame)
        row.setContentsMargins(12, 8, 8, 8)
        self.input = _Input(self.frame)
        self.input.setPlaceholderText("Message Ember…  (Enter to send, Shift+Enter for a new line)")
        self.input.setTabChangesFocus(True)
        name(
            self.input, "Message", "Enter sends, Shift+Enter starts a new line, Esc stops an answer"
        )
        self.input.submitted.connect(self._submit)
        self.input.escaped.connect(self._escape)
        self.input.textChanged.connect(self._resize_to_text)
        self.input.fontChanged.connect(self._resize_to_text)
        row.addWidget(self.input, 1)
        self.button = QPushButton("Send", self.frame)
        self.button.setObjectName("Primary")
        self.button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.button.setMinimumWidth(80)
        self.button.clicked.connect(self._button_clicked)
        row.addWidget(self.button, 0, Qt.AlignmentFlag.AlignBottom)
        outer.addWidget(self.frame)

        self.reason = QLabel("", self)
        self.reason.setObjectName("ComposerReason")
        # Wrapped: a long reason (a model's load error) must not widen the whole window.
        self.reason.setWordWrap(True)
        under = QHBoxLayout()
        under.setContentsMargins(0, 0, 0, 0)
        under.addWidget(self.reason, 1)
        self.size_label = QLabel("", self)  # "1,240 / 2,048 tokens", or why it cannot be sent
        self.size_label.setObjectName("TokenCount")
        self.size_label.setWordWrap(True)
        self.size_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        self.size_label.hide()
        under.addWidget(self.size_label, 1)
        outer.addLayout(under)
        # Set by the token counter: text -> why it must not be sent (too long), or None.
        self.size_check: Callable[[str], str | None] | None = None

        self.generating = False
        self.blocked_reason: str | None = None
        self.editing_message_id: int | None = None
        self._resize_to_text()
        self._refresh()

    # -- state ----------------------------------------------------------------------------------

    def set_generating(self, generating: bool) -> None:
        self.generating = generating
        self._refresh()

    def set_blocked(self, reason: str | None) -> None:
        """Disable sending with a visible reason (a model is loading), or enable it (None)."""
        self.blocked_reason = reason
        self._refresh()

    def set_hint(self, text: str) -> None:
        if self.blocked_reason is None:
            self.reason.setText(text)

    def show_size(self, label: str, warning: bool = False) -> None:
        """Show the message's size (``""`` hides it); ``warning``: it is too long to send."""
        self.size_label.setText(label)
        self.size_label.setObjectName("TokenWarning" if warning else "TokenCount")
        self.size_label.setProperty("warning", warning)
        self.size_label.style().unpolish(self.size_label)
        self.size_label.style().polish(self.size_label)
        self.size_label.setVisible(bool(label))

    def _refresh(self) -> None:
        if self.generating:
            self.button.setText("Stop")
            self.button.setObjectName("Danger")
            self.button.setEnabled(True)
            self.button.setToolTip("Stop the answer (Esc); what was written so far is kept")
        else:
            self.button.setText("Send")
            self.button.setObjectName("Primary")
            self.button.setEnabled(self.blocked_reason is None)
            self.button.setToolTip("Send (Enter)")
        self.button.style().unpolish(self.button)
        self.button.style().polish(self.button)
        self.input.setReadOnly(self.blocked_reason is not None and not self.generating)
        self.reason.setText(self.blocked_reason or "")

    def start_edit(self, message_id: int, text: str) -> None:
        self.editing_message_id = message_id
        self.input.setPlainText(text)
        self.edit_banner.show()
        self.input.setFocus()

    def cancel_edit(self) -> None:
        if self.editing_message_id is not None:
            self.editing_message_id = None
            self.input.clear()
            self.edit_banner.hide()
            self.editCancelled.emit()

    def finish_edit(self) -> None:
        self.editing_message_id = None
        self.edit_banner.hide()

    # -- actions --------------------------------------------------------------------------------

    def _submit(self) -> None:
        if self.generating or self.blocked_reason is not None:
            return
        text = self.input.toPlainText()
        if not text.strip():
            return
        refused = self.size_check(text) if self.size_check is not None else None
        if refused:
            self.show_size(refused, warning=True)
            return
        self.sendRequested.emit(text)

    def _escape(self) -> None:
        if self.generating:
            self.stopRequested.emit()
        elif self.editing_message_id is not None:
            self.cancel_edit()
        else:
            self.escapedIdle.emit()

    def _button_clicked(self) -> None:
        if self.generating:
            self.stopRequested.emit()
        else:
            self._submit()

    def _resize_to_text(self) -> None:
        self.input.ensurePolished()  # the style sheet's font and padding count
        metrics = self.input.fontMetrics()
        lines = max(self.MIN_LINES, min(self.MAX_LINES, self.input.document().blockCount()))
        # Room for the lines (laid out a pixel taller than the rounded line spacing), the
        # document's margin, padding and frame: with less, the last line (or a placeholder
        # wrapped in a narrow window) was cut off.
        chrome = self.input.height() - self.input.contentsRect().height()
        chrome += round(2 * self.input.document().documentMargin()) + 1
        self.input.setFixedHeight(lines * (metrics.lineSpacing() + 1) + chrome)

    def take_text(self) -> str:
        text = self.input.toPlainText()
        self.input.clear()
        return text
