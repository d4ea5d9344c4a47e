"""Items side by side that wrap onto more lines when the width runs short."""

from __future__ import annotations

from ember.ui.flow_layout import FlowLayout
from ember.ui.qt import QToolButton, QWidget


def _row(qtbot) -> tuple[QWidget, FlowLayout, list[QToolButton]]:  # type: ignore[no-untyped-def]
    row = QWidget()
    qtbot.addWidget(row)
    layout = FlowLayout(row, spacing=6)
    layout.setContentsMargins(0, 0, 0, 0)
    buttons = [QToolButton(row) for _ in range(3)]
    for n, button in enumerate(buttons, start=1):
        button.setText(f"[{n}] a source of some length")
        layout.addWidget(button)
    return row, layout, buttons


def test_items_share_a_line_when_wide_and_wrap_when_narrow(qtbot) -> None:
    row, layout, buttons = _row(qtbot)
    widest = max(b.sizeHint().width() for b in buttons)
    height = buttons[0].sizeHint().height()
    assert layout.minimumSize().width() == widest  # never asks for the whole row's width
    assert layout.heightForWidth(10 * widest) == height
    assert layout.heightForWidth(widest) == 3 * height + 2 * 6
    row.resize(widest, layout.heightForWidth(widest))
    row.show()
    qtbot.waitExposed(row)
    tops = [b.geometry().top() for b in buttons]
    assert tops == sorted(set(tops)) and all(b.geometry().left() == 0 for b in buttons)
    assert all(b.width() == b.sizeHint().width() for b in buttons)


def test_a_hidden_item_takes_no_room(qtbot) -> None:
    _row_widget, layout, buttons = _row(qtbot)
    widest = max(b.sizeHint().width() for b in buttons)
    buttons[1].hide()
    assert layout.heightForWidth(widest) == 2 * buttons[0].sizeHint().height() + 6
