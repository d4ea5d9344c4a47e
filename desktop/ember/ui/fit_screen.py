"""Dialogs that fit a small screen and a large system font: pages that scroll when they do not
fit, and a window no larger than the screen's free area.

A dialog whose layout asks for more height than the screen has is not shown larger: Qt squeezes
its fields below the size their text needs instead. :func:`scrolling` puts a page in a scroll
area, so the page keeps its size and the area scrolls; :func:`fit_to_screen` then sizes the
dialog to what it wants, within the screen.
"""

from __future__ import annotations

from ember.ui.qt import QFrame, QScrollArea, QSize, Qt, QWidget

SCREEN_MARGIN = 40  # px kept free around a dialog (title bar, panels)


def scrolling(page: QWidget, parent: QWidget | None = None) -> QScrollArea:
    """``page`` in a frameless scroll area that scrolls (either way) only when it must."""
    area = QScrollArea(parent)
    area.setObjectName("ScrollPage")
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidgetResizable(True)  # as wide and tall as the area, never below its minimum
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
    area.setAccessibleName(page.accessibleName() or "Page")
    area.setWidget(page)
    return area


def fit_to_screen(window: QWidget, wanted: QSize | None = None) -> QSize:
    """Resize ``window`` (a dialog, before it is shown) to ``wanted`` (default: its size hint),
    never below its minimum size hint, cut to its screen's free area less
    :data:`SCREEN_MARGIN`; returns the new size."""
    parent = window.parentWidget()
    screen = parent.screen() if parent is not None else window.screen()
    size = (wanted or window.sizeHint()).expandedTo(window.minimumSizeHint())
    if screen is not None:
        free = screen.availableGeometry().size() - QSize(SCREEN_MARGIN, SCREEN_MARGIN)
        size = size.boundedTo(free)
    window.resize(size)
    return size


def show_in_front(window: QWidget) -> None:
    """Show ``window`` (a page or tool window); one open already, perhaps behind the main
    window, is brought forward and given the focus instead."""
    if window.isVisible():
        window.raise_()
        window.activateWindow()
    else:
        window.show()
