"""The PDF page view on its own: it shows the page of the file asked for last, never one of a
file shown before that was still being drawn, and it draws the page again at a new width."""

from __future__ import annotations

from pathlib import Path

import pytest

from ember.ui.pdf_page import MAX_RENDER_WIDTH_PX, PdfPageView

BLACK, RED = (0, 0, 0), (220, 0, 0)


def _filled_pdf(path: Path, rgb: tuple[int, int, int], pages: int = 1) -> Path:
    """A PDF of A4 pages each filled with one colour."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as c

    doc = pdfium.PdfDocument.new()
    for _ in range(pages):
        page = doc.new_page(595, 842)
        box = c.FPDFPageObj_CreateNewRect(0, 0, 595, 842)
        c.FPDFPageObj_SetFillColor(box, *rgb, 255)
        c.FPDFPath_SetDrawMode(box, c.FPDF_FILLMODE_ALTERNATE, False)
        c.FPDFPage_InsertObject(page.raw, box)
        c.FPDFPage_GenerateContent(page.raw)
        page.close()
    doc.save(str(path))
    doc.close()
    return path


def _colour(view: PdfPageView) -> tuple[int, int, int]:
    image = view.page.image
    pixel = image.pixelColor(image.width() // 2, image.height() // 2)
    return pixel.red(), pixel.green(), pixel.blue()


@pytest.fixture
def view(qtbot):
    page_view = PdfPageView()
    qtbot.addWidget(page_view)
    page_view.resize(420, 600)
    page_view.show()
    return page_view


def test_the_page_shown_is_of_the_file_opened_last(qtbot, view, tmp_path: Path) -> None:
    black = _filled_pdf(tmp_path / "black.pdf", BLACK)
    red = _filled_pdf(tmp_path / "red.pdf", RED)
    for _ in range(5):  # the black page is on its way when the red one is asked for
        shown: list[tuple[int, int, int]] = []
        view.pageShown.connect(lambda: shown.append(_colour(view)))  # noqa: B023
        with qtbot.waitSignal(view.pageShown, timeout=10_000):
            view.open_page(str(black), 1, ())
            view.open_page(str(red), 1, ())
        qtbot.wait(100)  # the black page's drawing arrives too, and must not be shown
        view.pageShown.disconnect()
        assert shown == [RED]
        assert _colour(view) == RED
        with qtbot.waitSignal(view.pageShown, timeout=10_000):
            view.open_page(str(black), 1, ())  # back to black for the next round
        assert _colour(view) == BLACK


def test_a_resized_view_draws_the_page_again_at_its_width(qtbot, view, tmp_path: Path) -> None:
    red = _filled_pdf(tmp_path / "red.pdf", RED, pages=2)
    with qtbot.waitSignal(view.pageShown, timeout=10_000):
        view.open_page(str(red), 2, ())
    narrow = view.page.image.width()

    def drawn_for_view() -> bool:
        width = min(round(view.viewport().width() * view.devicePixelRatioF()), MAX_RENDER_WIDTH_PX)
        return view.page.image.width() == width

    assert drawn_for_view()
    view.resize(900, 600)
    qtbot.waitUntil(lambda: view.page.image.width() > narrow and drawn_for_view(), timeout=10_000)
    assert view.page.page == 2 and _colour(view) == RED
    assert view.canvas.height() == view.canvas.height_for(view.canvas.width())
