"""One PDF page drawn by Qt's own PDF module (QtPdf: PDFium, no browser engine), with a cited
passage highlighted over it.

:class:`PdfPageView` opens the document (kept open while the same file is shown), asks QtPdf for
the rectangles of the passage's character ranges (``QPdfDocument.getSelectionAtIndex``; the
ranges come from :mod:`ember.knowledge.locate`), and has ``QPdfPageRenderer`` draw the page at
the view's width on Qt's own render thread: drawing a page takes 15-40 ms, and a Python worker
calling ``QPdfDocument.render`` would hold the GIL, and the window, that long. The page shows
with the rectangles over it, scrolled to the first (across, too, on a zoomed-in page). When the
view is resized, the page shows scaled at once and is drawn again for the new width once the
resizing pauses (:data:`REDRAW_DELAY_MS`). A drawing is taken only as the answer to the latest
request (by QtPdf's request id): a page of the file shown before, still on its way, is dropped.
QtPdf is imported on first use only.

**Zoom**: the page is fitted to the view's width (zoom 1) or shown :attr:`PdfPageView.zoom`
times that wide (Ctrl+wheel, Ctrl++ / Ctrl+- / Ctrl+0; :data:`ZOOM_STEPS`). A new zoom shows
the page scaled at once and has it drawn again at the new width as a resize does, on QtPdf's
render thread. The highlights stay in PDF points and are scaled at paint time, so they cover
the passage at every zoom. Page Up at the top of the page and Page Down at its bottom ask for
the page before or after (``pageStep``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ember.ui.qt import (
    QColor,
    QImage,
    QKeyEvent,
    QPainter,
    QPaintEvent,
    QRectF,
    QResizeEvent,
    QScrollArea,
    QSize,
    Qt,
    QTimer,
    QWheelEvent,
    QWidget,
    Signal,
)

MAX_RENDER_WIDTH_PX = 2400  # a page wider than this on screen is scaled up from it
HIGHLIGHT_MARGIN_PX = 24  # left of a passage scrolled into view across a zoomed-in page
REDRAW_DELAY_MS = 150  # after the last resize, before the page is drawn again at the new width
# Zoom levels (times the view's width) that zooming in and out steps through; 1: fit the width.
ZOOM_STEPS = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0)
ZoomKey = Literal["in", "out", "fit"]


def zoom_key(event: QKeyEvent) -> ZoomKey | None:
    """What a key press asks of the zoom: Ctrl++ (or Ctrl+=) in, Ctrl+- out, Ctrl+0 fit the
    width; None for any other key."""
    if not event.modifiers() & Qt.KeyboardModifier.ControlModifier:
        return None
    key = event.key()
    if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
        return "in"
    if key in (Qt.Key.Key_Minus, Qt.Key.Key_Underscore):
        return "out"
    if key == Qt.Key.Key_0:
        return "fit"
    return None


def next_zoom(zoom: float, step: int) -> float:
    """The zoom of :data:`ZOOM_STEPS` ``step`` places (+1 in, -1 out) from ``zoom``, held at
    the ends."""
    if step > 0:
        return next((z for z in ZOOM_STEPS if z > zoom + 1e-6), ZOOM_STEPS[-1])
    return next((z for z in reversed(ZOOM_STEPS) if z < zoom - 1e-6), ZOOM_STEPS[0])


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
    """A scrollable PDF page at the view's width times :attr:`zoom`, its passage highlighted
    (keyboard: arrows, Page Up/Down scroll, and at the page's ends ask for the next or previous
    page; Ctrl++, Ctrl+-, Ctrl+0 zoom). :meth:`open_page` draws a page; ``pageShown`` says it
    is shown."""

    pageShown = Signal()
    zoomChanged = Signal(float)  # the new zoom (1: the page fits the view's width)
    pageStep = Signal(int)  # -1: Page Up at the page's top; +1: Page Down at its bottom

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._document: Any = None  # QPdfDocument of ``_path``, made on first use
        self._renderer: Any = None
        self._path: str | None = None
        # The request awaited: QtPdf's request id, then the page (1-based), its size in points,
        # the scale it is drawn at and its highlights; and whether it is a redraw after a resize.
        self._pending: tuple[int, int, float, float, float, tuple[QRectF, ...]] | None = None
        self._redrawing = False
        self._at_end = False  # the page asked for is shown scrolled to its bottom
        self._wheel = 0  # Ctrl+wheel angle not yet turned into a zoom step (1/8 degrees)
        self.zoom = 1.0
        self._redraw = QTimer(self)
        self._redraw.setSingleShot(True)
        self._redraw.setInterval(REDRAW_DELAY_MS)
        self._redraw.timeout.connect(self._draw_again)
        self.setObjectName("PdfPageView")
        self.setAccessibleName("Cited page")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # Always there: a bar that came and went with the page's height would change the
        # width the page is fitted to (and cut its right edge off until the next resize).
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.setAlignment(Qt.AlignmentFlag.AlignHCenter)  # zoomed out: the page in the middle
        self.setWidgetResizable(False)
        self.canvas = _PageCanvas(self)
        self.setWidget(self.canvas)

    @property
    def page(self) -> RenderedPage | None:
        return self.canvas.page

    def open_page(
        self, path: str, page: int, spans: Sequence[tuple[int, int]], *, at_end: bool = False
    ) -> None:
        """Draw page ``page`` (1-based) of the PDF at ``path`` at this view's width with the
        character ranges ``spans`` highlighted; ``pageShown`` fires when it is shown, scrolled
        to the first highlight (none: to the top; ``at_end``: to the bottom). Raises
        ``OSError`` when QtPdf cannot open the file."""
        self._redraw.stop()
        self._at_end = at_end
        self._pending = None  # whatever was on its way is for another page or file
        document = self._open(path)
        index = page - 1
        highlights = tuple(highlight_rects(document, index, spans))
        self._request(page, highlights, redraw=False)

    def page_count(self) -> int:
        """The open document's pages (0: none open)."""
        return int(self._document.pageCount()) if self._document is not None else 0

    def _canvas_width(self) -> int:
        """The page's width on screen: the view's times the zoom."""
        return max(1, round(max(1, self.viewport().width()) * self.zoom))

    def _width_px(self) -> int:
        """The width the page is drawn at: its width on screen, in device pixels, capped."""
        dpr = self.devicePixelRatioF()
        return max(1, min(round(self._canvas_width() * dpr), MAX_RENDER_WIDTH_PX))

    # -- zoom -----------------------------------------------------------------------------------

    def set_zoom(self, zoom: float) -> None:
        """Show the page ``zoom`` times the view's width (held within :data:`ZOOM_STEPS`): at
        once scaled, keeping the point at the view's centre where it was, and drawn again at
        the new width once the zooming pauses."""
        zoom = min(max(zoom, ZOOM_STEPS[0]), ZOOM_STEPS[-1])
        if abs(zoom - self.zoom) < 1e-6:
            return
        across, down = self.horizontalScrollBar(), self.verticalScrollBar()
        view = self.viewport()
        # The point at the view's centre, as a share of the page's width and height.
        x = (across.value() + view.width() / 2) / max(1, self.canvas.width())
        y = (down.value() + view.height() / 2) / max(1, self.canvas.height())
        self.zoom = zoom
        policy = Qt.ScrollBarPolicy
        fitted = zoom <= 1.0
        self.setHorizontalScrollBarPolicy(
            policy.ScrollBarAlwaysOff if fitted else policy.ScrollBarAsNeeded
        )
        self._fit()
        across.setValue(round(x * self.canvas.width() - view.width() / 2))
        down.setValue(round(y * self.canvas.height() - view.height() / 2))
        if self.canvas.page is not None:
            self._redraw.start()
        self.zoomChanged.emit(zoom)

    def zoom_in(self) -> None:
        self.set_zoom(next_zoom(self.zoom, +1))

    def zoom_out(self) -> None:
        self.set_zoom(next_zoom(self.zoom, -1))

    def fit_width(self) -> None:
        """Zoom 1: the page as wide as the view."""
        self.set_zoom(1.0)

    def apply_zoom_key(self, key: ZoomKey) -> None:
        {"in": self.zoom_in, "out": self.zoom_out, "fit": self.fit_width}[key]()

    def wheelEvent(self, event: QWheelEvent) -> None:
        """Ctrl+wheel zooms (a step per notch); the wheel alone scrolls."""
        if not event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            super().wheelEvent(event)
            return
        self._wheel += event.angleDelta().y()
        while abs(self._wheel) >= 120:
            step = 1 if self._wheel > 0 else -1
            self._wheel -= 120 * step
            self.set_zoom(next_zoom(self.zoom, step))
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Zoom keys; Page Up at the page's top and Page Down at its bottom ask for the page
        before or after; other keys scroll (Esc goes on to the pane)."""
        zoom = zoom_key(event)
        if zoom is not None:
            self.apply_zoom_key(zoom)
            event.accept()
            return
        bar = self.verticalScrollBar()
        key = event.key()
        if self.canvas.page is not None and not event.modifiers():
            if key == Qt.Key.Key_PageDown and bar.value() >= bar.maximum():
                self.pageStep.emit(1)
                event.accept()
                return
            if key == Qt.Key.Key_PageUp and bar.value() <= bar.minimum():
                self.pageStep.emit(-1)
                event.accept()
                return
        super().keyPressEvent(event)

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
        """Show ``page`` and scroll its first highlight into view (a quarter from the top), or
        to its bottom when it was asked for ``at_end``."""
        self.canvas.show_page(page)
        self._fit()
        self.horizontalScrollBar().setValue(0)
        if self._at_end and not page.highlights:
            self.verticalScrollBar().setValue(self.verticalScrollBar().maximum())
        else:
            self.scroll_to_highlight()

    def highlight_rects(self) -> tuple[QRectF, ...]:
        """The highlighted rectangles in points from the page's top-left (empty: none)."""
        return self.canvas.page.highlights if self.canvas.page else ()

    def scroll_to_highlight(self) -> None:
        """Scroll the passage into view: the top of its first lines a quarter down the view,
        and on a page wider than the view (zoomed in) its left edge in view, with the rest of
        it where it fits. No highlight: the page's top left corner."""
        highlights = self.highlight_rects()
        down, across = self.verticalScrollBar(), self.horizontalScrollBar()
        if not highlights:
            down.setValue(0)
            across.setValue(0)
            return
        scale = self.canvas.points_scale()
        box = QRectF()
        for rect in highlights[:3]:
            box = box.united(rect)
        view = self.viewport()
        down.setValue(max(0, round(box.top() * scale - view.height() / 4)))
        left, right = box.left() * scale, box.right() * scale
        if left < across.value() or right > across.value() + view.width():
            across.setValue(max(0, round(left - HIGHLIGHT_MARGIN_PX)))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()
        if self.canvas.page is not None:
            self._redraw.start()  # drawn again at the new width once the resizing pauses

    def _fit(self) -> None:
        width = self._canvas_width()
        self.canvas.resize(width, self.canvas.height_for(width))
