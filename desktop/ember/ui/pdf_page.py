"""One PDF page drawn by Qt's own PDF module (QtPdf: PDFium, no browser engine), with a cited
passage highlighted over it.

:func:`render_page` runs off the GUI thread (the viewer's worker job): it loads the document,
draws the page into a :class:`QImage` and asks QtPdf for the rectangles of the passage's
character ranges (``QPdfDocument.getSelectionAtIndex``; the ranges come from
:mod:`ember.knowledge.locate`). :class:`PdfPageView` shows the image at the pane's width, the
rectangles over it, and scrolls to the first one. QtPdf is imported on first use only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ember.ui.qt import (
    QColor,
    QImage,
    QPainter,
    QPaintEvent,
    QPixmap,
    QRectF,
    QResizeEvent,
    QScrollArea,
    QSize,
    Qt,
    QWidget,
)

MAX_RENDER_WIDTH_PX = 2000  # a page wider than this on screen is scaled up from it


@dataclass(frozen=True)
class RenderedPage:
    """A drawn page: ``image`` (``scale`` pixels per point), the page's size in points and the
    passage's ``highlights`` in points from the page's top-left corner."""

    image: QImage
    page: int  # 1-based
    width_pt: float
    height_pt: float
    scale: float
    highlights: tuple[QRectF, ...]


def render_page(
    path: str, page: int, width_px: int, spans: Sequence[tuple[int, int]]
) -> RenderedPage:
    """Draw page ``page`` (1-based) of the PDF at ``path`` ``width_px`` pixels wide, with the
    rectangles of the character ranges ``spans`` (PDFium's character indices of that page).

    Runs in a worker thread: the QPdfDocument is made, used and dropped there. Raises
    ``OSError`` when QtPdf cannot open the file.
    """
    from PySide6.QtPdf import QPdfDocument

    document = QPdfDocument(None)
    try:
        error = document.load(path)
        if error != QPdfDocument.Error.None_:
            raise OSError(f"Qt could not open the PDF ({error.name})")
        index = page - 1
        size = document.pagePointSize(index)
        width_px = max(1, min(width_px, MAX_RENDER_WIDTH_PX))
        scale = width_px / max(size.width(), 1.0)
        image = document.render(index, QSize(width_px, max(1, round(size.height() * scale))))
        return RenderedPage(
            image,
            page,
            size.width(),
            size.height(),
            scale,
            tuple(highlight_rects(document, index, spans)),
        )
    finally:
        document.close()


def highlight_rects(document: object, index: int, spans: Sequence[tuple[int, int]]) -> list[QRectF]:
    """QtPdf's rectangles (points, from the page's top-left) for character ranges of page
    ``index`` (0-based) of a loaded ``QPdfDocument``, in the order of ``spans``."""
    rects: list[QRectF] = []
    for start, end in spans:
        selection = document.getSelectionAtIndex(index, start, end - start)  # type: ignore[attr-defined]
        if selection.isValid():
            rects.extend(polygon.boundingRect() for polygon in selection.bounds())
    return rects


class _PageCanvas(QWidget):
    """The page image scaled to the widget's width, the highlights painted over it."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.pixmap: QPixmap | None = None
        self.page: RenderedPage | None = None

    def show_page(self, page: RenderedPage) -> None:
        self.page = page
        self.pixmap = QPixmap.fromImage(page.image)
        self.update()

    def points_scale(self) -> float:
        """Widget pixels per PDF point at the current width."""
        if self.page is None:
            return 1.0
        return self.width() / max(self.page.width_pt, 1.0)

    def height_for(self, width: int) -> int:
        if self.page is None:
            return 0
        return round(width * self.page.height_pt / max(self.page.width_pt, 1.0))

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("white"))
        if self.pixmap is None or self.page is None:
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawPixmap(self.rect(), self.pixmap)
        scale = self.points_scale()
        # Multiply keeps the text under the marker as dark as it was, like a highlighter pen.
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Multiply)
        marker = QColor(255, 214, 0)
        for rect in self.page.highlights:
            box = QRectF(
                rect.x() * scale, rect.y() * scale, rect.width() * scale, rect.height() * scale
            )
            painter.fillRect(box.adjusted(-1.5, -1.5, 1.5, 1.5), marker)
        painter.end()


class PdfPageView(QScrollArea):
    """A scrollable PDF page at the view's width, its passage highlighted (keyboard: arrows,
    Page Up/Down scroll)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PdfPageView")
        self.setAccessibleName("Cited page")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWidgetResizable(False)
        self.canvas = _PageCanvas(self)
        self.setWidget(self.canvas)

    @property
    def page(self) -> RenderedPage | None:
        return self.canvas.page

    def show_page(self, page: RenderedPage) -> None:
        """Show ``page`` and scroll its first highlight into view (a quarter from the top)."""
        self.canvas.show_page(page)
        self._fit()
        self.scroll_to_highlight()

    def highlight_rects(self) -> tuple[QRectF, ...]:
        """The highlighted rectangles in points from the page's top-left (empty: none)."""
        return self.canvas.page.highlights if self.canvas.page else ()

    def scroll_to_highlight(self) -> None:
        highlights = self.highlight_rects()
        bar = self.verticalScrollBar()
        if not highlights:
            bar.setValue(0)
            return
        top = min(rect.top() for rect in highlights[:3]) * self.canvas.points_scale()
        bar.setValue(max(0, round(top - self.viewport().height() / 4)))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        width = max(1, self.viewport().width())
        self.canvas.resize(width, self.canvas.height_for(width))
