"""Labels and buttons that shorten their text with "…" instead of widening the window or cutting
a word.

A plain :class:`QLabel` asks its layout for its whole text as its *minimum* width, so a long chat
title or status line raises the window's minimum width, and the window grows itself to honour it.
:class:`ElidedLabel` asks for only a few characters as its minimum, paints what fits with "…",
and shows the whole text as its tooltip while it is shortened. :class:`ElidedToolButton` does the
same for a tool button (the top bar's "Documents: …" menu button).
"""

from __future__ import annotations

from ember.ui.qt import (
    QLabel,
    QPainter,
    QPaintEvent,
    QResizeEvent,
    QSize,
    QSizePolicy,
    QStyle,
    QStyleOptionToolButton,
    QStylePainter,
    Qt,
    QToolButton,
    QWidget,
)

MIN_CHARS = 6  # the least an elided label shows: a few letters and "…"


def shortened_tip(whole: str, own: str, elided: bool) -> str:
    """The tooltip of a control whose text may be shortened: the whole text while it is, above
    the control's own tooltip (``own``); only ``own`` while the text shows whole."""
    if elided and whole:
        return f"{whole}\n\n{own}" if own else whole
    return own


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
        tip = shortened_tip(self.text(), self._own_tip, self.elided())
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


class ElidedToolButton(QToolButton):
    """A text tool button whose text is elided at the right when space is short, down to
    :data:`MIN_CHARS` characters; a trailing " ▾" (a menu's arrow) always stays visible.

    ``text()`` is always the whole text, and so is the accessible name (without the arrow: a
    screen reader reads the choice, not the glyph); ``sizeHint()`` asks for the whole text,
    ``minimumSizeHint()`` for the shortest. While shortened, the tooltip shows the whole text
    above the tooltip set with ``setToolTip``."""

    ARROW = "  ▾"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._own_tip = ""
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        # A tool button is fixed at its whole text by default; this one may shrink to its shortest.
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    def setText(self, text: str) -> None:
        super().setText(text)
        self.setAccessibleName(text.removesuffix(self.ARROW).strip())
        self._update_tip()
        self.updateGeometry()

    def setToolTip(self, tip: str) -> None:
        self._own_tip = tip
        self._update_tip()

    def elided(self) -> bool:
        """True when the whole text does not fit and is shown shortened."""
        return self.shown_text() != self.text()

    def shown_text(self) -> str:
        """The text as painted: whole, or shortened with "…" (the arrow kept) to fit."""
        whole = self.text()
        room = self._text_room()
        metrics = self.fontMetrics()
        if metrics.horizontalAdvance(whole) <= room:
            return whole
        arrow = self.ARROW if whole.endswith(self.ARROW) else ""
        body = whole.removesuffix(arrow) if arrow else whole
        room -= metrics.horizontalAdvance(arrow)
        return metrics.elidedText(body, Qt.TextElideMode.ElideRight, max(0, room)) + arrow

    def _text_room(self) -> int:
        """The width the text may take: the button's width less its frame and padding."""
        return self.width() - (self._size_for("").width())

    def _size_for(self, text: str) -> QSize:
        option = QStyleOptionToolButton()
        self.initStyleOption(option)
        option.text = text
        metrics = self.fontMetrics()
        contents = QSize(metrics.horizontalAdvance(text), metrics.height())
        return self.style().sizeFromContents(
            QStyle.ContentsType.CT_ToolButton, option, contents, self
        )

    def _shortest(self) -> str:
        whole = self.text()
        arrow = self.ARROW if whole.endswith(self.ARROW) else ""
        body = whole.removesuffix(arrow) if arrow else whole
        return body if len(body) <= MIN_CHARS else body[:MIN_CHARS] + "…" + arrow

    def _update_tip(self) -> None:
        whole = self.text().removesuffix(self.ARROW).strip()
        tip = shortened_tip(whole, self._own_tip, self.elided())
        if tip != super().toolTip():
            super().setToolTip(tip)

    # -- size and painting -----------------------------------------------------------------------

    def minimumSizeHint(self) -> QSize:
        whole = self.sizeHint()
        shortest = self._size_for(self._shortest())
        return QSize(min(whole.width(), shortest.width()), whole.height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._update_tip()

    def paintEvent(self, _event: QPaintEvent) -> None:
        """QToolButton's own painting, with the text elided rather than cut off."""
        painter = QStylePainter(self)
        option = QStyleOptionToolButton()
        self.initStyleOption(option)
        option.text = self.shown_text()
        painter.drawComplexControl(QStyle.ComplexControl.CC_ToolButton, option)
