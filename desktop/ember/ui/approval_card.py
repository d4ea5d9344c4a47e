"""Asking the person before a tool runs: the approver the tool loop calls on the engine worker,
and the card it puts in the answer (tool, server, the exact arguments; Allow once / Always allow
this tool / Deny).

The loop's thread blocks in :meth:`WindowApprover.__call__` until the card is answered or the
answer is stopped (the card then says so and the call is "cancelled"); the card lives on the GUI
thread and is reached from the worker only by a queued signal.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from ember.tools.types import StepCancels
from ember.ui.accessibility import name
from ember.ui.qt import (
    QEvent,
    QFrame,
    QHBoxLayout,
    QKeyEvent,
    QLabel,
    QObject,
    QPushButton,
    Qt,
    QVBoxLayout,
    QWidget,
    Signal,
)
from ember.ui.tool_steps import _plain_box, pretty_arguments

if TYPE_CHECKING:
    from ember.cancel import CancelToken
    from ember.tools.types import ApprovalRequest, Decision, ToolInfo

POLL_S = 0.1  # how often a waiting approver looks at the answer's cancel token


class PendingApproval:
    """One question to the person: the request and, once given, the decision (thread-safe)."""

    def __init__(self, request: ApprovalRequest) -> None:
        self.request = request
        self.decision: Decision | None = None
        self._answered = threading.Event()

    def decide(self, decision: Decision) -> None:
        """The person's answer (the first one counts)."""
        if not self._answered.is_set():
            self.decision = decision
            self._answered.set()

    @property
    def answered(self) -> bool:
        return self._answered.is_set()

    def wait(self, timeout_s: float) -> bool:
        return self._answered.wait(timeout_s)


class WindowApprover(QObject):
    """The :class:`~ember.tools.types.Approver` of the window's answers.

    Called on the engine worker: emits :attr:`requested` (received on the GUI thread, which
    shows a card) and waits for the card's answer, looking at ``cancel`` every
    :data:`POLL_S` s. "Always allow" is handed to ``always_allow`` (the toolbox's, which saves
    it in the settings) before the call runs."""

    requested = Signal(object)  # PendingApproval

    def __init__(
        self,
        always_allow: Callable[[ToolInfo], None] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.always_allow = always_allow
        # The running steps of the window's answers: Cancel on one stops it alone.
        self.step_cancels = StepCancels()

    def __call__(self, request: ApprovalRequest, cancel: CancelToken) -> Decision:
        pending = PendingApproval(request)
        self.requested.emit(pending)
        while not pending.wait(POLL_S):
            if cancel.cancelled:
                pending.decide("cancelled")
        decision: Decision = pending.decision or "cancelled"
        if cancel.cancelled and decision != "deny":
            decision = "cancelled"
        if decision == "always" and self.always_allow is not None:
            self.always_allow(request.tool)
        return decision


class ApprovalCard(QFrame):
    """The card in the answer: what would run, and the three answers. Enter on a focused
    button presses it; the card takes focus when it appears (Allow once first). Esc in the
    card is Deny (as in a dialog): the answer goes on, it is not stopped."""

    decided = Signal(str)  # the Decision given

    def __init__(self, pending: PendingApproval, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pending = pending
        request = pending.request
        tool = request.tool
        self.setObjectName("ApprovalCard")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(6)
        self.title = QLabel(f"Allow “{tool.name}” from {tool.server} to run?", self)
        self.title.setTextFormat(Qt.TextFormat.PlainText)  # names come from servers: not markup
        self.title.setWordWrap(True)
        self.title.setObjectName("CardTitle")
        layout.addWidget(self.title)
        if tool.description:
            about = QLabel(tool.description, self)
            about.setTextFormat(Qt.TextFormat.PlainText)
            about.setWordWrap(True)
            about.setObjectName("Muted")
            layout.addWidget(about)
        import json

        arguments = pretty_arguments(json.dumps(dict(request.call.arguments), ensure_ascii=False))
        self.arguments = _plain_box(self, arguments, f"Arguments for {tool.name}")
        layout.addWidget(self.arguments)
        row = QHBoxLayout()
        self.allow_once = QPushButton("Allow once", self)
        self.always = QPushButton("Always allow this tool", self)
        self.deny = QPushButton("Deny", self)
        name(self.allow_once, f"Allow {tool.name} once", "Run this call now")
        name(
            self.always,
            f"Always allow {tool.name}",
            "Run this call and later calls of this tool without asking",
        )
        name(self.deny, f"Deny {tool.name}", "Do not run it; the model is told you said no")
        for button, decision in (
            (self.allow_once, "allow_once"),
            (self.always, "always"),
            (self.deny, "deny"),
        ):
            button.setAutoDefault(True)
            button.clicked.connect(lambda _=False, d=decision: self.choose(d))
            row.addWidget(button)
        row.addStretch(1)
        layout.addLayout(row)
        self.outcome = QLabel("", self)
        self.outcome.setObjectName("Muted")
        self.outcome.hide()
        layout.addWidget(self.outcome)
        name(self, f"Approve tool call: {tool.name} from {tool.server}")

    @property
    def open(self) -> bool:
        """Still waiting for the person's answer."""
        return not self.pending.answered

    def event(self, event: QEvent) -> bool:
        # Esc in the card is its own (Deny), not the window's "Stop the answer" shortcut.
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and event.key() == Qt.Key.Key_Escape  # type: ignore[attr-defined]
            and self.open
        ):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and self.open:
            self.choose("deny")
            event.accept()
            return
        super().keyPressEvent(event)

    def choose(self, decision: str) -> None:
        """Answer the question (once); the buttons go and the card says what was chosen."""
        if self.pending.answered and self.pending.decision != decision:
            self.close_as(self.pending.decision or "cancelled")
            return
        self.pending.decide(decision)  # type: ignore[arg-type]
        self.close_as(decision)
        self.decided.emit(decision)

    def close_as(self, decision: str) -> None:
        """Show the outcome instead of the buttons (also when the answer was stopped)."""
        for button in (self.allow_once, self.always, self.deny):
            button.hide()
        self.outcome.setText(
            {
                "allow_once": "Allowed once.",
                "always": "Allowed — this tool will run without asking from now on.",
                "deny": "Denied: the tool did not run.",
            }.get(decision, "Stopped before you answered: the tool did not run.")
        )
        self.outcome.show()
