"""Tool steps inside an answer: shown where the model called them, between the text, with the
exact arguments and the result as plain text; a running step can be cancelled. The Thinking
block stays apart from the answer's text."""

from __future__ import annotations

import json

from ember.chats.records import ToolStep
from ember.ui.bubble import BubbleData, MessageBubble
from ember.ui.qt import QColor
from ember.ui.tool_steps import RESULT_PREVIEW_CHARS, AnswerTimeline


def _step(position: int, offset: int, **fields: object) -> ToolStep:
    values: dict[str, object] = dict(
        id=position + 1,
        message_id=1,
        position=position,
        text_offset=offset,
        call_id=f"call-{position}",
        tool="calculator",
        server="built-in",
        arguments=json.dumps({"expression": "1234 * 5678"}),
        state="done",
        decision="auto",
        result="7006652",
        started=100.0,
        finished=100.4,
    )
    values.update(fields)
    return ToolStep(**values)  # type: ignore[arg-type]


def _answer(qtbot, text: str, steps: tuple[ToolStep, ...], **fields: object) -> MessageBubble:  # type: ignore[no-untyped-def]
    data = BubbleData(role="assistant", text=text, steps=steps, **fields)  # type: ignore[arg-type]
    bubble = MessageBubble(data, QColor("#eee"))
    qtbot.addWidget(bubble)
    bubble.resize(700, 600)
    bubble.show()
    qtbot.waitExposed(bubble)
    return bubble


def _in_layout_order(bubble: MessageBubble) -> list[str]:
    """What the answer shows top to bottom: text stretches and step rows."""
    shown: list[str] = []
    if bubble.body.isVisible():
        shown.append(bubble.body.toPlainText().strip())
    for row, text in zip(bubble.timeline.rows, bubble.timeline.texts, strict=True):
        shown.append(row.toggle.text())
        if text.isVisible():
            shown.append(text.toPlainText().strip())
    return shown


def test_steps_show_between_the_text_at_their_offsets(qtbot) -> None:
    text = "Let me compute it. Now the other one. Both are done."
    first, second = text.index("Now"), text.index("Both")
    steps = (
        _step(0, first),
        _step(1, second, tool="get_current_time", server="time", arguments='{"tz":"UTC"}'),
    )
    bubble = _answer(qtbot, text, steps)
    assert _in_layout_order(bubble) == [
        "Let me compute it.",
        "calculator · built-in · 0.4 s",
        "Now the other one.",
        "get_current_time · time · 0.4 s",
        "Both are done.",
    ]


def test_a_steps_row_opens_to_its_exact_arguments_and_plain_text_result(qtbot) -> None:
    result = "<b>not bold</b> **not markdown**"
    bubble = _answer(qtbot, "Done.", (_step(0, 0, result=result),))
    row = bubble.timeline.rows[0]
    assert not row.details.isVisible()  # collapsed at first
    row.toggle.click()
    assert row.details.isVisible()
    assert json.loads(row.arguments_box.toPlainText()) == {"expression": "1234 * 5678"}
    assert row.arguments_box.toPlainText() == '{\n  "expression": "1234 * 5678"\n}'
    assert row.result_box is not None
    assert row.result_box.toPlainText() == result  # shown as typed, never rendered


def test_a_long_result_is_cut_with_show_all(qtbot) -> None:
    result = "x" * (RESULT_PREVIEW_CHARS * 3)
    bubble = _answer(qtbot, "", (_step(0, 0, result=result),))
    row = bubble.timeline.rows[0]
    row.toggle.click()
    assert row.result_box is not None
    assert len(row.result_box.toPlainText()) == RESULT_PREVIEW_CHARS + 1  # with "…"
    assert row.show_all is not None and row.show_all.isVisible()
    row.show_all.click()
    assert row.result_box.toPlainText() == result


def test_denied_failed_and_interrupted_steps_say_so(qtbot) -> None:
    steps = (
        _step(0, 0, state="denied", decision="deny", result="", finished=None),
        _step(1, 0, state="error", error="The server “time” stopped answering."),
        _step(2, 0, state="interrupted", finished=None, result=""),
    )
    bubble = _answer(qtbot, "", steps)
    rows = bubble.timeline.rows
    assert "denied" in rows[0].state_label.text()
    assert "failed" in rows[1].state_label.text()
    assert "interrupted" in rows[2].state_label.text()
    rows[1].toggle.click()
    assert rows[1].result_box is not None
    assert rows[1].result_box.toPlainText() == "The server “time” stopped answering."


def test_a_running_step_is_busy_and_its_cancel_asks_to_stop(qtbot) -> None:
    bubble = _answer(
        qtbot, "", (_step(0, 0, state="running", finished=None, result="", decision=None),),
        state="streaming",
    )  # fmt: skip
    row = bubble.timeline.rows[0]
    assert row.busy.isVisible() and row.cancel_button.isVisible()
    with qtbot.waitSignal(bubble.stepCancelRequested, timeout=1000) as cancelled:
        row.cancel_button.click()
    assert cancelled.args == [row.step.id]  # which step: that one stops, the answer goes on
    bubble.set_step(_step(0, 0, state="done"))  # the same step, ended
    assert not row.busy.isVisible() and not row.cancel_button.isVisible()
    assert row.toggle.text() == "calculator · built-in · 0.4 s"


def test_a_step_waiting_for_approval_has_no_cancel_the_card_answers_it(qtbot) -> None:
    # Two "no" buttons (Cancel on the row, Deny on the card) did two different things.
    waiting = _step(0, 0, state="approval", finished=None, result="", decision=None)
    bubble = _answer(qtbot, "", (waiting,), state="streaming")
    row = bubble.timeline.rows[0]
    assert row.state_label.text() == "waiting for your approval"
    assert not row.cancel_button.isVisible() and not row.busy.isVisible()
    bubble.set_step(_step(0, 0, state="running", finished=None, result="", decision="allow_once"))
    assert row.cancel_button.isVisible() and row.busy.isVisible()  # allowed: now it runs


def test_an_interrupted_step_says_whether_it_ran_or_waited_for_you(qtbot) -> None:
    steps = (
        _step(0, 0, state="interrupted", decision=None, result=""),  # the card was open
        _step(1, 0, state="interrupted", decision="allow_once", result=""),  # it was running
    )
    rows = _answer(qtbot, "", steps).timeline.rows
    assert rows[0].state_label.text() == "interrupted — Ember closed before you answered"
    assert rows[1].state_label.text() == "interrupted — Ember closed while it ran"


def test_a_fast_step_shows_under_a_tenth_of_a_second(qtbot) -> None:
    steps = (_step(0, 0, finished=100.02), _step(1, 0, finished=100.3), _step(2, 0, finished=112))
    rows = _answer(qtbot, "", steps).timeline.rows
    assert [r.toggle.text() for r in rows] == [
        "calculator · built-in · < 0.1 s",
        "calculator · built-in · 0.3 s",
        "calculator · built-in · 12.0 s",
    ]


def test_steps_streamed_in_take_their_place_in_the_text(qtbot) -> None:
    bubble = _answer(qtbot, "", (), state="streaming")
    bubble.append("Computing. ")
    bubble.set_step(_step(0, len("Computing. "), state="running", finished=None, result=""))
    bubble.append("The answer is 7006652.")
    bubble.flush()
    assert _in_layout_order(bubble) == [
        "Computing.",
        "calculator · built-in",
        "The answer is 7006652.",
    ]


def test_split_keeps_every_character_once() -> None:
    text = "abcdef"
    pieces = AnswerTimeline.split(text, (_step(0, 2), _step(1, 2), _step(2, 99)))
    assert pieces == ["ab", "", "cdef", ""]
    assert "".join(pieces) == text


def test_thinking_is_a_collapsed_block_apart_from_the_answer(qtbot) -> None:
    bubble = _answer(qtbot, "", (), state="streaming")
    bubble.append_thinking("The user wants a sum. 2 + 2 is 4.")
    bubble.append("It is 4.")
    bubble.flush()
    assert bubble.thinking.isVisible()
    assert not bubble.thinking.expanded and not bubble.thinking.text.isVisible()
    assert bubble.body.toPlainText().strip() == "It is 4."  # no thinking in the answer
    bubble.thinking.toggle.click()
    assert bubble.thinking.text.toPlainText() == "The user wants a sum. 2 + 2 is 4."
    bubble.set_show_thinking(False)  # the chat hides thinking
    assert not bubble.thinking.isVisible()
    assert bubble.body.toPlainText().strip() == "It is 4."


def test_an_answer_without_thinking_shows_no_block(qtbot) -> None:
    bubble = _answer(qtbot, "Hello.", ())
    assert not bubble.thinking.isVisible()


def test_thinking_is_plain_text_and_a_long_run_wraps_inside_the_answer(qtbot) -> None:
    # A reasoning model may think in a long unbroken run (a URL, minified code): the block
    # breaks it rather than widening the whole answer; markup in it is shown as typed.
    long_run = "https://example.com/" + "x" * 5000
    thinking = f'<img src="http://127.0.0.1:9/t.png"><b>bold?</b> {long_run}'
    bubble = _answer(qtbot, "Answer.", (), thinking=thinking)
    bubble.thinking.toggle.click()
    assert bubble.thinking.text.isVisible()
    assert bubble.minimumSizeHint().width() < 1000
    assert bubble.thinking.text.toPlainText() == thinking
    assert bubble.thinking.text.resource_requests == []  # nothing fetched


def test_a_result_with_one_huge_line_is_broken_anywhere(qtbot) -> None:
    # Minified JSON from a server: wrapping a 1 MB run at word boundaries froze the window for
    # most of a minute at "Show all"; broken anywhere it takes a moment. Prose still wraps by words.
    from ember.ui.qt import QTextOption

    huge = '{"rows": [' + ",".join(['{"k":"value"}'] * 80_000) + "]}"
    bubble = _answer(qtbot, "Here.", (_step(0, 5, result=huge), _step(1, 5, result="a b c")))
    row, prose = bubble.timeline.rows
    row.toggle.click()
    prose.toggle.click()
    assert row.show_all is not None
    row.show_all.click()
    assert row.result_box is not None and row.result_box.toPlainText() == huge
    assert row.result_box.wordWrapMode() == QTextOption.WrapMode.WrapAnywhere
    assert prose.result_box is not None
    assert prose.result_box.wordWrapMode() == QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere


def test_an_answers_error_is_plain_text(qtbot) -> None:
    # Why an answer failed may quote a server (an MCP server's log, a remote's error body).
    from ember.ui.qt import Qt

    bubble = _answer(qtbot, "", (), state="streaming")
    bubble.fail('The server said: <img src="file:///etc/hostname"><a href="x">retry</a>')
    assert bubble.error_label.isVisible()
    assert bubble.error_label.textFormat() == Qt.TextFormat.PlainText
