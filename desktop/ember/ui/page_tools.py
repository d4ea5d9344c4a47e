"""The source viewer's row of page controls for a PDF: previous and next page, which page is
shown, zoom out, the zoom, zoom in and fit to the width.

Each button has an accessible name and a tooltip with its keys; they drive a
:class:`~ember.ui.pdf_page.PdfPageView` (zoom) and ask the pane for another page
(``pageRequested``). Compact on purpose: the row must fit the pane's narrowest width at a
150% system font without widening it (the title row, with "Open in system viewer", is wider).
"""

from __future__ import annotations

from ember.ui.pdf_page import ZOOM_STEPS, PdfPageView
from ember.ui.qt import QHBoxLayout, QLabel, Qt, QToolButton, QWidget, Signal


def _button(parent: QWidget, text: str, name: str, tip: str) -> QToolButton:
    button = QToolButton(parent)
    button.setText(text)
    button.setAccessibleName(name)
    button.setToolTip(tip)
    button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    return button


class PageTools(QWidget):
    """Page and zoom controls over ``view``: :meth:`show_page` says which page is shown."""

    pageRequested = Signal(int)  # the page (1-based) the person asked for

    def __init__(self, view: PdfPageView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PageTools")
        self.view = view
        self.page = 0  # shown, 1-based; 0: none
        self.count = 0
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        self.previous_button = _button(self, "‹", "Previous page", "Previous page (Page Up)")
        self.page_label = QLabel("", self)
        self.page_label.setObjectName("Muted")
        self.next_button = _button(self, "›", "Next page", "Next page (Page Down)")
        self.zoom_out_button = _button(self, "−", "Zoom out", "Zoom out (Ctrl+-)")
        self.zoom_label = QLabel("", self)
        self.zoom_label.setObjectName("Muted")
        self.zoom_in_button = _button(self, "+", "Zoom in", "Zoom in (Ctrl++ or Ctrl+wheel)")
        self.fit_button = _button(
            self, "Fit", "Fit the page to the width", "Fit the page to the pane's width (Ctrl+0)"
        )
        row.addWidget(self.previous_button)
        row.addWidget(self.page_label)
        row.addWidget(self.next_button)
        row.addStretch(1)
        for widget in (self.zoom_out_button, self.zoom_label, self.zoom_in_button):
            row.addWidget(widget)
        row.addWidget(self.fit_button)
        self.previous_button.clicked.connect(lambda: self._step(-1))
        self.next_button.clicked.connect(lambda: self._step(1))
        self.zoom_out_button.clicked.connect(view.zoom_out)
        self.zoom_in_button.clicked.connect(view.zoom_in)
        self.fit_button.clicked.connect(view.fit_width)
        view.zoomChanged.connect(self._zoomed)
        view.pageStep.connect(self._step)
        self._zoomed(view.zoom)

    def show_page(self, page: int, count: int) -> None:
        """Page ``page`` (1-based) of ``count`` is shown (or on its way)."""
        self.page, self.count = page, count
        self.page_label.setText(f"{page} / {count}")
        self.page_label.setAccessibleName(f"Page {page} of {count}")
        self.previous_button.setEnabled(page > 1)
        self.next_button.setEnabled(page < count)

    def _step(self, step: int) -> None:
        page = self.page + step
        if self.page and 1 <= page <= self.count:
            self.pageRequested.emit(page)

    def _zoomed(self, zoom: float) -> None:
        percent = f"{round(zoom * 100)}%"
        self.zoom_label.setText(percent)
        self.zoom_label.setAccessibleName(f"Zoom {percent} of the pane's width")
        self.zoom_out_button.setEnabled(zoom > ZOOM_STEPS[0])
        self.zoom_in_button.setEnabled(zoom < ZOOM_STEPS[-1])
