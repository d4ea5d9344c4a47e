"""The approval card: a worker thread asking the window before a tool runs gets the person's
answer (Allow once / Always allow / Deny), or "cancelled" when the answer is stopped."""

from __future__ import annotations

import threading

import pytest

from ember.cancel import CancelToken
from ember.engines.base import ToolCall
from ember.tools.types import ApprovalRequest, ToolInfo
from ember.ui.approval_card import ApprovalCard, PendingApproval, WindowApprover
from ember.ui.qt import Qt, QWidget

TOOL = ToolInfo(
    name="get_current_time",
    description="Current time in a time zone.",
    parameters={"type": "object"},
    server="time",
    remote_name="get_current_time",
)
REQUEST = ApprovalRequest(
    ToolCall("call-1", "get_current_time", {"timezone": "Europe/Paris"}), TOOL
)


class Asking:
    """A worker thread calling the approver, as the tool loop does; the GUI shows each card."""

    def __init__(self, qtbot) -> None:  # type: ignore[no-untyped-def]
        self.allowed_always: list[ToolInfo] = []
        self.approver = WindowApprover(self.allowed_always.append)
        self.host = QWidget()
        qtbot.addWidget(self.host)
        self.host.show()
        self.cards: list[ApprovalCard] = []
        self.approver.requested.connect(self._show)
        self.cancel = CancelToken()
        self.decision: str | None = None
        self.thread = threading.Thread(target=self._ask, daemon=True)

    def _show(self, pending: PendingApproval) -> None:
        card = ApprovalCard(pending, self.host)
        card.show()
        self.cards.append(card)

    def _ask(self) -> None:
        self.decision = self.approver(REQUEST, self.cancel)

    def start(self, qtbot) -> ApprovalCard:  # type: ignore[no-untyped-def]
        self.thread.start()
        qtbot.waitUntil(lambda: bool(self.cards), timeout=5000)
        return self.cards[0]

    def answer(self, qtbot) -> str | None:  # type: ignore[no-untyped-def]
        qtbot.waitUntil(lambda: not self.thread.is_alive(), timeout=5000)
        return self.decision


def test_the_card_shows_the_tool_the_server_and_the_exact_arguments(qtbot) -> None:
    asking = Asking(qtbot)
    card = asking.start(qtbot)
    assert "get_current_time" in card.title.text() and "time" in card.title.text()
    assert card.arguments.toPlainText() == '{\n  "timezone": "Europe/Paris"\n}'
    assert card.allow_once.accessibleName() == "Allow get_current_time once"
    assert card.deny.accessibleName() == "Deny get_current_time"
    card.deny.click()
    asking.answer(qtbot)


@pytest.mark.parametrize(
    ("button", "decision"),
    [("allow_once", "allow_once"), ("always", "always"), ("deny", "deny")],
)
def test_each_button_is_the_approvers_decision(qtbot, button: str, decision: str) -> None:
    asking = Asking(qtbot)
    card = asking.start(qtbot)
    getattr(card, button).click()
    assert asking.answer(qtbot) == decision
    assert asking.allowed_always == ([TOOL] if decision == "always" else [])
    assert not card.allow_once.isVisible() and card.outcome.isVisible()


def test_enter_on_the_focused_button_answers(qtbot) -> None:
    asking = Asking(qtbot)
    card = asking.start(qtbot)
    card.activateWindow()
    card.deny.setFocus()
    qtbot.waitUntil(card.deny.hasFocus, timeout=2000)
    qtbot.keyClick(card.deny, Qt.Key.Key_Space)
    assert asking.answer(qtbot) == "deny"


def test_esc_in_the_card_is_deny_not_stop(qtbot) -> None:
    # As in a dialog: Esc says no to this call; the answer (the cancel token) goes on.
    asking = Asking(qtbot)
    card = asking.start(qtbot)
    card.activateWindow()
    card.allow_once.setFocus()  # where the focus is when the card appears
    qtbot.waitUntil(card.allow_once.hasFocus, timeout=2000)
    qtbot.keyClick(card.allow_once, Qt.Key.Key_Escape)
    assert asking.answer(qtbot) == "deny"
    assert not asking.cancel.cancelled
    assert card.outcome.text() == "Denied: the tool did not run."


def test_stopping_the_answer_while_the_card_is_open_cancels_the_call(qtbot) -> None:
    asking = Asking(qtbot)
    card = asking.start(qtbot)
    asking.cancel.cancel()  # Stop
    assert asking.answer(qtbot) == "cancelled"
    assert asking.allowed_always == []
    card.always.click()  # too late: nothing is allowed
    assert asking.allowed_always == []
    assert "Stopped" in card.outcome.text()
