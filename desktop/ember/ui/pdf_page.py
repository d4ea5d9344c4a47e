"""One PDF page drawn by Qt's own PDF module (QtPdf: PDFium, no browser engine), with a cited
passage highlighted over it.

:class:`PdfPageView` opens the document (kept open while the same file is shown), asks QtPdf for
the rectangles of the passage's character ranges (``QPdfDocument.getSelectionAtIndex``; the
ranges come from :mod:`ember.knowledge.locate`), and has ``QPdfPageRenderer`` draw the page at
the view's width on Qt's own render thread: drawing a page takes 15-40 ms, and a Python worker
calling ``QPdfDocument.render`` would hold the GIL, and the window, that long. The page shows
with the rectangles over it, scrolled to the first. When the view is resized, the page shows
scaled at once and is drawn again for the new width once the resizing pauses
(:data:`REDRAW_DELAY_MS`). A drawing is taken only as the answer to the latest request (by
QtPdf's request id): a page of the file shown before, still on its way, is dropped. QtPdf is
imported on first use only.
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
    QTimer,
    QWidget,
    Signal,
)

MAX_RENDER_WIDTH_PX = 2400  # a page wider than this on screen is scaled up from it
REDRAW_DELAY_MS = 150  # after the last resize, before the page is drawn again at the new width


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
        # The request awaited: QtPdf's request id, then the page (1-based), its size in points,
        # the scale it is drawn at and its highlights; and whether it is a redraw after a resize.
        self._pending: tuple[int, int, float, float, float, tuple[QRectF, ...]] | None = None
        self._redrawing = False
        self._redraw = QTimer(self)
        self._redraw.setSingleShot(True)
        self._redraw.setInterval(REDRAW_DELAY_MS)
        self._redraw.timeout.connect(self._draw_again)
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
        self._redraw.stop()
        self._pending = None  # whatever was on its way is for another page or file
        document = self._open(path)
        index = page - 1
        highlights = tuple(highlight_rects(document, index, spans))
        self._request(page, highlights, redraw=False)

    def _width_px(self) -> int:
        """The width the page is drawn at: the view's, in device pixels, capped."""
        dpr = self.devicePixelRatioF()
        return max(1, min(round(self.viewport().width() * dpr), MAX_RENDER_WIDTH_PX))

    def _request(self, page: int, highlights: tuple[QRectF, ...], *, redraw: bool) -> None:
        size = self._document.pagePointSize(page - 1)
        width_px = self._width_px()
        scale = width_px / max(size.width(), 1.0)
        image_size = QSize(width_px, max(1, round(size.height() * scale)))
        request = self._renderer.requestPage(page - 1, image_size)
        self._pending = (int(request), page, size.width(), size.height(), scale, highlights)
        self._redrawing = redraw

    def _draw_again(self) -> None:
        """Draw the shown page again at the view's width (after a resize)."""
        shown = self.canvas.page
        if shown is None or self._pending is not None or self._path is None:
            return  # nothing shown, or a drawing is on its way (it is for the new width)
        if shown.image.width() == self._width_px():
            return
        self._request(shown.page, shown.highlights, redraw=True)

    def _open(self, path: str) -> Any:
        """The loaded ``QPdfDocument`` of ``path``: the one shown, or a new document and renderer
        for another file. A renderer answers a request for a page and size it still has pending
        with that request's drawing, whatever file the document has loaded since: so each file
        gets its own, and the previous pair goes (the renderer first: it waits for its thread)."""
        from PySide6.QtPdf import QPdfDocument, QPdfPageRenderer

        if (
            self._document is not None
            and path == self._path
            and self._document.status() == QPdfDocument.Status.Ready
        ):
            return self._document
        self._close_document()
        document = QPdfDocument(self)
        error = document.load(path)
        if error != QPdfDocument.Error.None_:
            document.deleteLater()
            raise OSError(f"Qt could not open the PDF ({error.name})")
        renderer = QPdfPageRenderer(self)
        renderer.setRenderMode(QPdfPageRenderer.RenderMode.MultiThreaded)
        renderer.setDocument(document)
        renderer.pageRendered.connect(self._rendered)
        self._document, self._renderer, self._path = document, renderer, path
        return document

    def _close_document(self) -> None:
        if self._renderer is not None:
            self._renderer.pageRendered.disconnect(self._rendered)
            self._renderer.deleteLater()
        if self._document is not None:
            self._document.deleteLater()
        self._document = self._renderer = self._path = None

    def _rendered(
        self, _index: int, _size: QSize, image: QImage, _options: object, request: int
    ) -> None:
        pending = self._pending
        if pending is None or pending[0] != int(request):
            return  # an older request (another page or file, or an earlier width)
        self._pending = None
        _request, page, width_pt, height_pt, scale, highlights = pending
        drawn = RenderedPage(image, page, width_pt, height_pt, scale, highlights)
        if self._redrawing:  # the same page at a new width: keep the reader's place
            self.canvas.show_page(drawn)
            self._draw_again()  # resized again while it was drawn
            return
        self.show_page(drawn)
        self.pageShown.emit()
        self._draw_again()  # resized while it was drawn

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
        if self.canvas.page is not None:
            self._redraw.start()  # drawn again at the new width once the resizing pauses

    def _fit(self) -> None:
        width = max(1, self.viewport().width())
        self.canvas.resize(width, self.canvas.height_for(width))
