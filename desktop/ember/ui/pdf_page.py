"""One PDF page drawn by Qt's own PDF module (QtPdf: PDFium, no browser engine), with a cited
passage highlighted over it.

:class:`PdfPageView` opens the document (kept open while the same file is shown), asks QtPdf for
the rectangles of the passage's character ranges (``QPdfDocument.getSelectionAtIndex``; the
ranges come from :mod:`ember.knowledge.locate`), and has ``QPdfPageRenderer`` draw the page at
the view's width on Qt's own render thread: drawing a page takes 15-40 ms, and a Python worker
calling ``QPdfDocument.render`` would hold the GIL, and the window, that long. The page shows
with the rectangles over it, scrolled to the first. QtPdf is imported on first use only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ember.ui.qt import (
    QColor,
    QImage,
    QPainter,
    QPaintEvent,
    QRectF,
    QResizeEvent,
    QScrollArea,
    QSize,
    Qt,
    QWidget,
    Signal,
)

MAX_RENDER_WIDTH_PX = 2400  # a page wider than this on screen is scaled up from it


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
        self.page: RenderedPage | None = None

    def show_page(self, page: RenderedPage) -> None:
        self.page = page
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
        if self.page is None:
            return
        image = self.page.image
        if image.width() == round(self.width() * self.devicePixelRatioF()):
            painter.drawImage(self.rect(), image)  # drawn for this width: a plain copy
        else:  # the pane was resized since: scaled until drawn again
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(self.rect(), image)
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
    Page Up/Down scroll). :meth:`open_page` draws a page; ``pageShown`` says it is shown."""

    pageShown = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._document: Any = None  # QPdfDocument of ``_path``, made on first use
        self._renderer: Any = None
        self._path: str | None = None
        self._pending: tuple[int, float, float, float, tuple[QRectF, ...]] | None = None
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

    def open_page(self, path: str, page: int, spans: Sequence[tuple[int, int]]) -> None:
        """Draw page ``page`` (1-based) of the PDF at ``path`` at this view's width with the
        character ranges ``spans`` highlighted; ``pageShown`` fires when it is shown. Raises
        ``OSError`` when QtPdf cannot open the file."""
        document = self._open(path)
        index = page - 1
        size = document.pagePointSize(index)
        dpr = self.devicePixelRatioF()
        width_px = max(1, min(round(self.viewport().width() * dpr), MAX_RENDER_WIDTH_PX))
        scale = width_px / max(size.width(), 1.0)
        highlights = tuple(highlight_rects(document, index, spans))
        self._pending = (page, size.width(), size.height(), scale, highlights)
        image_size = QSize(width_px, max(1, round(size.height() * scale)))
        self._renderer.requestPage(index, image_size)

    def _open(self, path: str) -> Any:
        from PySide6.QtPdf import QPdfDocument, QPdfPageRenderer

        if self._document is None:
            self._document = QPdfDocument(self)
            self._renderer = QPdfPageRenderer(self)
            self._renderer.setRenderMode(QPdfPageRenderer.RenderMode.MultiThreaded)
            self._renderer.setDocument(self._document)
            self._renderer.pageRendered.connect(self._rendered)
        if path != self._path or self._document.status() != QPdfDocument.Status.Ready:
            self._path = None
            error = self._document.load(path)
            if error != QPdfDocument.Error.None_:
                raise OSError(f"Qt could not open the PDF ({error.name})")
            self._path = path
        return self._document

    def _rendered(self, index: int, _size: QSize, image: QImage, *_rest: object) -> None:
        pending = self._pending
        if pending is None or pending[0] != index + 1:
            return  # an older request: another page is awaited
        self._pending = None
        page, width_pt, height_pt, scale, highlights = pending
        self.show_page(RenderedPage(image, page, width_pt, height_pt, scale, highlights))
        self.pageShown.emit()

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
