"""A layout that lays its items out left to right and wraps them onto more lines, like words.

Qt's documented FlowLayout example pattern: a row of chips in a :class:`QHBoxLayout` asks for
the sum of its chips' widths, and a long row widened its answer past the chat (cutting off the
text, the last chips and the answer's buttons). :class:`FlowLayout` asks only for its widest
item, starts a new line when the next item does not fit, and tells its parent how tall it gets
at a given width (``heightForWidth``), so the parent can give it the lines it needs.
"""

from __future__ import annotations

from ember.ui.qt import QLayout, QLayoutItem, QPoint, QRect, QSize, Qt, QWidget


class FlowLayout(QLayout):
    """Items side by side, in the order added, wrapped onto as many lines as the width needs.

    ``spacing`` (px) is the gap between items on a line and between lines. Each item gets its
    ``sizeHint``, cut to the layout's width when it alone is wider; items on a line are
    centred on it vertically. No item stretches."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 6) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self.setSpacing(spacing)

    # -- the items ----------------------------------------------------------------------------

    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    # -- sizes --------------------------------------------------------------------------------

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._arrange(QRect(0, 0, width, 0), apply=False)

    def minimumSize(self) -> QSize:
        """The widest item's minimum (each may go on a line of its own), with the margins."""
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        margins = self.contentsMargins()
        return size + QSize(margins.left() + margins.right(), margins.top() + margins.bottom())

    def sizeHint(self) -> QSize:
        return self.minimumSize()

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._arrange(rect, apply=True)

    # -- placing ------------------------------------------------------------------------------

    def _arrange(self, rect: QRect, *, apply: bool) -> int:
        """Place the items in ``rect`` (only measure unless ``apply``); the height they take,
        margins included, in px."""
        margins = self.contentsMargins()
        area = rect.adjusted(margins.left(), margins.top(), -margins.right(), -margins.bottom())
        gap = self.spacing()
        lines: list[list[tuple[QLayoutItem, QSize]]] = [[]]
        x = area.x()
        for item in self._items:
            if item.isEmpty():  # a hidden widget takes no room
                continue
            size = item.sizeHint()
            size.setWidth(min(size.width(), max(0, area.width())))
            if lines[-1] and x + size.width() > area.x() + area.width():
                lines.append([])
                x = area.x()
            lines[-1].append((item, size))
            x += size.width() + gap
        y = area.y()
        for line in lines:
            if not line:
                continue
            height = max(size.height() for _item, size in line)
            x = area.x()
            for item, size in line:
                if apply:
                    top = y + (height - size.height()) // 2
                    item.setGeometry(QRect(QPoint(x, top), size))
                x += size.width() + gap
            y += height + gap
        used = y - gap - area.y() if any(lines) else 0
        return used + margins.top() + margins.bottom()
