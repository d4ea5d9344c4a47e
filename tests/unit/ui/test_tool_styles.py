"""The look of what tools add to an answer, in the light and dark themes: a tool step's row and
the approval card are drawn in their own colours inside the answer's card, their text is
readable on them, and the arguments and results are monospace and grow with the system's text
size like the rest of the window."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from PySide6.QtGui import QFontInfo

from ember.chats.records import ToolStep
from ember.engines.base import ToolCall
from ember.tools.types import ApprovalRequest, ToolInfo
from ember.ui.approval_card import ApprovalCard, PendingApproval
from ember.ui.bubble import BubbleData, MessageBubble
from ember.ui.qt import QApplication, QColor, QFont
from ember.ui.theme import DARK, LIGHT, Theme

STEP = ToolStep(
    id=1,
    message_id=1,
    position=0,
    text_offset=0,
    call_id="call-1",
    tool="add",
    server="tests",
    arguments=json.dumps({"a": 2, "b": 3}),
    state="done",
    decision="allow_once",
    result="5",
    started=100.0,
    finished=100.2,
)
TOOL = ToolInfo("add", "Add two integers.", {"type": "object"}, server="tests", remote_name="add")


@pytest.fixture(params=[False, True], ids=["light", "dark"])
def theme(request: pytest.FixtureRequest, qapp: QApplication) -> Iterator[Theme]:
    before = (qapp.style().name(), qapp.palette(), qapp.styleSheet(), qapp.font())
    yield Theme(qapp, dark=request.param)
    qapp.setStyle(before[0])
    qapp.setPalette(before[1])
    qapp.setFont(before[3])
    qapp.setStyleSheet(before[2])


def _bubble(qtbot, theme: Theme) -> MessageBubble:  # type: ignore[no-untyped-def]
    data = BubbleData(
        role="assistant", text="2 + 3 = 5.", steps=(STEP,), thinking="Use the add tool."
    )
    bubble = MessageBubble(data, theme.color("muted"))
    qtbot.addWidget(bubble)
    bubble.resize(700, 600)
    bubble.show()
    qtbot.waitExposed(bubble)
    return bubble


def _luminance(color: QColor) -> float:
    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in (color.redF(), color.greenF(), color.blueF()))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two colours (1 to 21)."""
    high, low = sorted((_luminance(QColor(a)), _luminance(QColor(b))), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("colors", [LIGHT, DARK], ids=["light", "dark"])
def test_text_on_steps_and_the_card_is_readable(colors: dict[str, str]) -> None:
    for ground in ("step", "approval"):  # the rows' and the card's titles and captions
        assert contrast(colors["text"], colors[ground]) >= 7, ground
        assert contrast(colors["muted"], colors[ground]) >= 4.5, ground
    assert contrast(colors["text"], colors["code"]) >= 7  # arguments and results
    # A step stands apart from the answer's card it sits in (but not loudly).
    assert colors["step"] != colors["surface"] and colors["approval"] != colors["surface"]


def test_a_step_row_and_the_card_are_drawn_in_their_colours(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    bubble = _bubble(qtbot, theme)
    [row] = bubble.timeline.rows
    picture = row.grab().toImage()
    inside = picture.pixelColor(picture.width() - 4, picture.height() // 2)
    assert inside.name() == theme.colors["step"]

    card = ApprovalCard(PendingApproval(ApprovalRequest(ToolCall("c", "add", {"a": 2}), TOOL)))
    bubble.show_card(card)
    qtbot.waitUntil(card.isVisible, timeout=2000)
    picture = card.grab().toImage()
    inside = picture.pixelColor(picture.width() - 4, picture.height() // 2)
    assert inside.name() == theme.colors["approval"]
    edge = picture.pixelColor(picture.width() - 1, picture.height() // 2)
    assert edge.name() == theme.colors["accent"]  # the card asks: outlined in the accent


def test_arguments_are_monospace_and_grow_with_the_system_text_size(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    app = theme.app
    sizes = []
    for points in (10.0, 15.0):
        font = QFont(app.font())
        font.setPointSizeF(points)
        app.setFont(font)  # the theme restyles for it
        bubble = _bubble(qtbot, theme)
        [row] = bubble.timeline.rows
        row.toggle.click()
        box = row.arguments_box
        assert QFontInfo(box.font()).fixedPitch()
        # The box is tall enough for its lines in that font: none hides behind a scroll bar.
        qtbot.waitUntil(box.isVisible, timeout=2000)
        assert box.verticalScrollBar().maximum() == 0
        sizes.append(box.font().pointSizeF())
    assert sizes[1] > sizes[0]
