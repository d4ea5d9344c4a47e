"""A change of the system's text size restyles the window once, in the theme it shows."""

from __future__ import annotations

from ember.ui.qt import QFont
from ember.ui.theme import DARK, Theme


class CountingTheme(Theme):
    restyled = 0

    def _restyle(self) -> None:
        CountingTheme.restyled += 1
        super()._restyle()


def test_only_the_theme_applied_last_restyles_on_a_font_change(qapp) -> None:  # type: ignore[no-untyped-def]
    old_font = QFont(qapp.font())
    for dark in (False, True, False, True):  # earlier themes of one application (tests' ones)
        CountingTheme(qapp, dark=dark)
    CountingTheme.restyled = 0
    try:
        bigger = QFont(old_font)
        bigger.setPointSizeF(old_font.pointSizeF() + 3)
        qapp.setFont(bigger)  # the system's text size changed
        assert CountingTheme.restyled == 1  # not once per theme ever made: that stalled a suite
        assert DARK["window"] in qapp.styleSheet()  # the look of the theme applied last
    finally:
        qapp.setFont(old_font)
