"""Labels that shorten their text with "…" instead of widening the window or cutting a word.

A plain :class:`QLabel` asks its layout for its whole text as its *minimum* width, so a long chat
title or status line raises the window's minimum width, and the window grows itself to honour it.
:class:`ElidedLabel` asks for only a few characters as its minimum, paints what fits with "…",
and shows the whole text as its tooltip while it is shortened.
"""

from __future__ import annotations

from ember.ui.qt import QLabel, QPainter, QPaintEvent, QResizeEvent, QSize, Qt, QWidget

MIN_CHARS = 6  # the least an elided label shows: a few letters and "…"


class ElidedLabel(QLabel):
    """A one-line label whose text is elided at the right when space is short.

    ``text()`` is always the whole text; ``sizeHint()`` asks for it, ``minimumSizeHint()`` only
    for :data:`MIN_CHARS` characters. A tooltip set with ``setToolTip`` is kept and shown
    below the whole text while the text is shortened."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self._own_tip = ""
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(False)
        self._update_tip()

    # -- text and tooltip ------------------------------------------------------------------------

    def setText(self, text: str) -> None:
        super().setText(text)
        self._update_tip()

    def setToolTip(self, tip: str) -> None:
        self._own_tip = tip
        self._update_tip()

    def elided(self) -> bool:
        """True when the whole text does not fit and is shown shortened."""
        return self.fontMetrics().horizontalAdvance(self.text()) > self._text_width()

    def shown_text(self) -> str:
        """The text as painted: the whole text, or its start and "…"."""
        return self.fontMetrics().elidedText(
            self.text(), Qt.TextElideMode.ElideRight, self._text_width()
        )

    def _update_tip(self) -> None:
        whole = self.text()
        if self.elided() and whole:
            tip = f"{whole}\n\n{self._own_tip}" if self._own_tip else whole
        else:
            tip = self._own_tip
        if tip != super().toolTip():
            super().setToolTip(tip)

    def _text_width(self) -> int:
        return max(0, self.contentsRect().width() - 2 * max(0, self.margin()) - self._indent())

    def _indent(self) -> int:
        return max(0, self.indent())

    # -- size and painting -----------------------------------------------------------------------

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        metrics = self.fontMetrics()
        shortest = metrics.horizontalAdvance(self.text()[:MIN_CHARS] + "…")
        margins = self.contentsMargins()
        extra = margins.left() + margins.right() + 2 * max(0, self.margin()) + self._indent()
        return QSize(min(hint.width(), shortest + extra), hint.height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._update_tip()

    def paintEvent(self, event: QPaintEvent) -> None:
        if not self.elided():
            super().paintEvent(event)
            return
        painter = QPainter(self)
        self.drawFrame(painter)
        rect = self.contentsRect().adjusted(
            self.margin() + self._indent(), self.margin(), -self.margin(), -self.margin()
        )
        self.style().drawItemText(
            painter,
            rect,
            int(self.alignment()),
            self.palette(),
            self.isEnabled(),
            self.shown_text(),
            self.foregroundRole(),
        )
