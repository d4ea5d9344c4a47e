"""An eliding label: a short minimum width, "…" when short of room, the whole text as tooltip."""

from __future__ import annotations

import pytest

from ember.ui.elided import ElidedLabel, ElidedToolButton
from ember.ui.qt import QHBoxLayout, QWidget

LONG = "Indexing “manuals”: reading router-manual.pdf, page 120 of 261 · about 40 s left"


@pytest.fixture
def holder(qtbot):  # type: ignore[no-untyped-def]
    widget = QWidget()  # held here: qtbot holds widgets only weakly
    qtbot.addWidget(widget)
    QHBoxLayout(widget)
    return widget


def _label(qtbot, holder: QWidget, text: str, width: int) -> ElidedLabel:  # type: ignore[no-untyped-def]
    label = ElidedLabel(text, holder)
    holder.layout().addWidget(label)
    holder.resize(width, 40)
    holder.show()
    qtbot.waitExposed(holder)
    return label


def test_a_long_text_does_not_raise_the_minimum_width(qtbot, holder) -> None:
    label = _label(qtbot, holder, LONG, 600)
    whole = label.fontMetrics().horizontalAdvance(LONG)
    assert label.minimumSizeHint().width() < whole // 4
    assert label.sizeHint().width() >= whole  # with room, it still asks for all of it


def test_short_of_room_it_ends_in_an_ellipsis_and_tells_the_whole_text(qtbot, holder) -> None:
    label = _label(qtbot, holder, LONG, 160)
    assert label.text() == LONG
    assert label.elided()
    assert label.shown_text().endswith("…") and LONG.startswith(label.shown_text()[:-1])
    assert label.toolTip() == LONG


def test_with_room_it_shows_everything_and_keeps_its_own_tooltip(qtbot, holder) -> None:
    label = _label(qtbot, holder, "Ready", 400)
    label.setToolTip("What the model is doing")
    assert not label.elided()
    assert label.shown_text() == "Ready"
    assert label.toolTip() == "What the model is doing"
    label.setText(LONG * 2)
    assert label.toolTip() == f"{LONG * 2}\n\nWhat the model is doing"


CHOICE = "Documents: Household appliance manuals and warranties"


def _button(qtbot, holder: QWidget, width: int) -> ElidedToolButton:  # type: ignore[no-untyped-def]
    button = ElidedToolButton(holder)
    button.setToolTip("Which documents answer in this chat")
    button.setText(CHOICE + ElidedToolButton.ARROW)
    holder.layout().addWidget(button)
    holder.layout().addStretch(1)
    holder.resize(width, 50)
    holder.show()
    qtbot.waitExposed(holder)
    return button


def test_a_long_button_text_does_not_raise_the_minimum_width(qtbot, holder) -> None:
    button = _button(qtbot, holder, 900)
    assert button.minimumSizeHint().width() < button.sizeHint().width() // 2
    assert not button.elided() and button.shown_text() == button.text()


def test_a_short_button_elides_keeps_its_arrow_and_names_the_whole_choice(qtbot, holder) -> None:
    button = _button(qtbot, holder, 200)
    assert button.width() < button.sizeHint().width()
    shown = button.shown_text()
    assert button.elided() and "…" in shown and shown.endswith(ElidedToolButton.ARROW)
    assert button.fontMetrics().horizontalAdvance(shown) <= button.width()
    assert button.text() == CHOICE + ElidedToolButton.ARROW  # the whole text, as Qt reads it
    assert button.accessibleName() == CHOICE  # what a screen reader says: no arrow glyph
    assert button.toolTip().startswith(CHOICE) and "Which documents" in button.toolTip()
