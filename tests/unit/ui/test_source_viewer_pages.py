"""The source viewer's PDF controls: zoom (buttons, Ctrl+wheel, Ctrl++ / Ctrl+- / Ctrl+0) keeps
the highlight on the passage at every zoom, the page is drawn again for the new width; previous
and next page (buttons, Page Up / Page Down at the page's ends); every control is named and
Tab goes through the pane in reading order."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.nasty_files import write_pdf

from ember.knowledge.types import Citation
from ember.ui.accessibility import in_reading_order
from ember.ui.pdf_page import MAX_RENDER_WIDTH_PX, PdfPageView
from ember.ui.qt import QApplication, QPoint, QPointF, Qt, QWheelEvent
from ember.ui.source_viewer import SourceViewer

CTRL = Qt.KeyboardModifier.ControlModifier
PAGES = [
    "Kettle manual, page one. Fill the jug halfway with water and vinegar, then boil it twice.",
    "Page two. Wipe the outside with a damp cloth; never put the base in water.",
    "Page three. Keep the kettle dry and store it with the lid open.",
]


@pytest.fixture
def manual(tmp_path: Path) -> Path:
    return write_pdf(tmp_path / "kettle.pdf", PAGES)


def _open(qtbot, viewer: SourceViewer, manual: Path, page: int = 1) -> None:
    cited = Citation(1, str(manual), page, None, PAGES[page - 1][:60], 0.6, page_count=3)
    with qtbot.waitSignal(viewer.opened, timeout=15_000):
        viewer.show_sources(cited)
    assert viewer.location is not None and viewer.location.state == "found"


def _drawn_for_width(view: PdfPageView) -> bool:
    page = view.page
    want = min(round(view.canvas.width() * view.devicePixelRatioF()), MAX_RENDER_WIDTH_PX)
    return page is not None and page.image.width() == want


def _yellow_share(view: PdfPageView) -> tuple[float, float]:
    """The share of marker-yellow pixels inside the first highlight's box on screen, and in a
    band of the same size well below the passage."""
    shot = view.canvas.grab().toImage()
    scale = view.canvas.points_scale() * shot.devicePixelRatio()
    box = view.highlight_rects()[0]

    def share(top: float) -> float:
        yellow = total = 0
        for x in range(round(box.left() * scale) + 2, round(box.right() * scale) - 2, 3):
            for y in range(round(top * scale) + 2, round((top + box.height()) * scale) - 2):
                colour = shot.pixelColor(x, y)
                total += 1
                yellow += colour.red() > 200 and 170 < colour.green() < 235 and colour.blue() < 60
        return yellow / max(total, 1)

    return share(box.top()), share(box.top() + 8 * box.height())


def test_zooming_keeps_the_highlight_on_the_passage_and_draws_the_page_for_its_width(
    qtbot, viewer, manual
) -> None:
    _open(qtbot, viewer, manual)
    view = viewer.pdf_view
    assert QApplication.focusWidget() is view and view.accessibleName() == "Cited page"
    fitted = view.canvas.width()
    inside, outside = _yellow_share(view)
    assert inside > 0.2 and outside < 0.02
    for press, zoom in ((viewer.page_tools.zoom_in_button, 1.25), (None, 1.5)):
        if press is not None:
            press.click()
        else:
            qtbot.keyClick(view, Qt.Key.Key_Plus, CTRL)
        assert view.zoom == zoom
        assert view.canvas.width() == round(view.viewport().width() * zoom)
        qtbot.waitUntil(lambda: _drawn_for_width(view), timeout=10_000)
        inside, outside = _yellow_share(view)
        assert inside > 0.2 and outside < 0.02, f"at {zoom}: {inside:.2f} / {outside:.2f}"
    assert viewer.page_tools.zoom_label.text() == "150%"
    qtbot.keyClick(viewer.page_tools.fit_button, Qt.Key.Key_0, CTRL)  # anywhere in the pane
    assert view.zoom == 1.0 and view.canvas.width() == fitted
    qtbot.keyClick(view, Qt.Key.Key_Minus, CTRL)
    assert view.zoom == 0.75
    qtbot.waitUntil(lambda: _drawn_for_width(view), timeout=10_000)
    inside, outside = _yellow_share(view)
    assert inside > 0.2 and outside < 0.02


def test_ctrl_and_the_wheel_zoom_the_page_and_the_wheel_alone_does_not(
    qtbot, viewer, manual
) -> None:
    _open(qtbot, viewer, manual)
    view = viewer.pdf_view
    middle = QPointF(view.viewport().rect().center())

    def wheel(modifiers: Qt.KeyboardModifier, notches: int = 1) -> None:
        event = QWheelEvent(
            middle,
            QPointF(view.viewport().mapToGlobal(middle.toPoint())),
            QPoint(0, 0),
            QPoint(0, 120 * notches),
            Qt.MouseButton.NoButton,
            modifiers,
            Qt.ScrollPhase.NoScrollPhase,
            False,
        )
        QApplication.sendEvent(view.viewport(), event)

    wheel(CTRL)
    assert view.zoom == 1.25
    wheel(CTRL, 2)
    assert view.zoom == 2.0
    wheel(CTRL, -1)
    assert view.zoom == 1.5
    wheel(Qt.KeyboardModifier.NoModifier)
    assert view.zoom == 1.5


def test_the_page_buttons_and_page_keys_go_through_the_pdf(qtbot, viewer, manual) -> None:
    _open(qtbot, viewer, manual)
    tools, view = viewer.page_tools, viewer.pdf_view
    assert tools.page_label.accessibleName() == "Page 1 of 3"
    assert not tools.previous_button.isEnabled() and tools.next_button.isEnabled()
    with qtbot.waitSignal(view.pageShown, timeout=10_000):
        tools.next_button.click()
    assert view.page.page == 2 and view.highlight_rects() == ()  # the passage is on page 1
    assert tools.page_label.text() == "2 / 3"
    view.setFocus()
    bar = view.verticalScrollBar()

    def press(key: Qt.Key, at_end: bool) -> None:
        if not at_end:  # it scrolls within the page
            qtbot.keyClick(view, key)
            return
        with qtbot.waitSignal(view.pageShown, timeout=10_000):  # the page after or before
            qtbot.keyClick(view, key)

    for _ in range(20):  # Page Down scrolls to the page's end, then goes on to the next page
        if view.page.page == 3:
            break
        press(Qt.Key.Key_PageDown, bar.value() >= bar.maximum())
    assert view.page.page == 3 and not tools.next_button.isEnabled()
    assert bar.value() == bar.minimum()  # the next page shows from its top
    with qtbot.waitSignal(view.pageShown, timeout=10_000):
        qtbot.keyClick(view, Qt.Key.Key_PageUp)  # at the top: the page before, from its end
    assert view.page.page == 2 and bar.value() == bar.maximum() > 0
    for _ in range(20):
        if view.page.page == 1:
            break
        press(Qt.Key.Key_PageUp, bar.value() <= bar.minimum())
    assert view.page.page == 1 and view.highlight_rects()  # the cited page: highlighted again


def test_tab_goes_from_the_title_buttons_through_the_page_controls_to_the_page(
    qtbot, viewer, manual
) -> None:
    _open(qtbot, viewer, manual, page=2)
    tools = viewer.page_tools
    expected = [
        viewer.system_button,
        viewer.close_button,
        tools.previous_button,
        tools.next_button,
        tools.zoom_out_button,
        tools.zoom_in_button,
        tools.fit_button,
        viewer.pdf_view,
    ]
    for control in expected:
        assert control.accessibleName(), control
    assert [w for w in in_reading_order(viewer) if w.isVisible() and w in expected] == expected
    viewer.system_button.setFocus()
    walked = [viewer.system_button]
    for _ in expected[1:]:
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        walked.append(QApplication.focusWidget())
    assert walked == expected, [w.accessibleName() for w in walked]
