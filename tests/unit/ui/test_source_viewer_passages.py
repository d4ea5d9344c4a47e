"""The source viewer opens at the passage: a text source is scrolled so the highlighted passage
is in the text view's viewport, a PDF passage low on a page taller than the view is scrolled
into the visible area, and Word documents and code files open with their cited chunk
highlighted. Real files made in the test, indexed with the real ingest path."""

from __future__ import annotations

from pathlib import Path

from tests.support.citations import cite, index_chunks
from tests.support.nasty_files import write_docx

from ember.knowledge.types import Citation
from ember.ui.qt import QPoint, QRect, QRectF, QTextCursor
from ember.ui.source_viewer import SourceViewer


def _open(qtbot, viewer: SourceViewer, citation: Citation) -> None:
    with qtbot.waitSignal(viewer.opened, timeout=15_000):
        viewer.show_sources(citation)
    assert viewer.location is not None and viewer.location.state == "found"


def _words(text: str) -> list[str]:
    """``text``'s words, whatever whitespace (line or paragraph breaks) stood between them."""
    return text.replace("\u2029", " ").split()


# -- text: scrolled to the passage -------------------------------------------------------------


def _cursor_box(viewer: SourceViewer, position: int) -> QRect:
    """The text cursor's rectangle at ``position``, in the text view's viewport."""
    cursor = QTextCursor(viewer.text_view.document())
    cursor.setPosition(position)
    return viewer.text_view.cursorRect(cursor)


def test_a_passage_far_down_a_long_text_is_scrolled_into_view(
    qtbot, viewer, tmp_path: Path
) -> None:
    notes = tmp_path / "service log.txt"
    filler = [
        f"Day {day}: the kettle boiled as it should, nothing to report." for day in range(1500)
    ]
    passage = (
        "The element failed its insulation test at 1250 volts and was replaced under warranty."
    )
    notes.write_text("\n".join([*filler, "", passage, "", *filler[:40]]) + "\n", encoding="utf-8")
    row = next(r for r in index_chunks([notes], tmp_path / "kb") if "insulation test" in r.text)
    _open(qtbot, viewer, cite(row))

    view = viewer.text_view
    assert viewer.stack.currentWidget() is view
    assert passage in viewer.highlighted_text().replace("\u2029", "\n")
    assert view.verticalScrollBar().value() > 0, "the text was left at its top"
    visible = view.viewport().rect()
    marks = view.extraSelections()
    mark = QTextCursor(marks[0].cursor)
    passage_at = view.document().toPlainText().find(passage)
    assert mark.selectionStart() <= passage_at < mark.selectionEnd()
    for position in (passage_at, passage_at + len(passage)):
        box = _cursor_box(viewer, position)
        assert visible.contains(box), f"{box} is outside the viewport {visible}"
    assert visible.intersects(view.cursorRect(mark))


# -- PDF: a passage low on a page taller than the view -----------------------------------------

LOW_PASSAGE = "Descale it monthly with vinegar."


def _low_passage_pdf(path: Path) -> Path:
    """A one-page A4 PDF: filler text at the top and the passage near the page's bottom right
    corner (zoomed in, it is off the view's left half)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    pdf.add_page()
    pdf.multi_cell(w=0, text="Kettle manual. Read these instructions before the first use.")
    pdf.set_xy(125, 262)  # mm from the top left corner of a 210 × 297 mm page
    pdf.multi_cell(w=75, text=LOW_PASSAGE)
    pdf.output(str(path))
    return path


def _highlight_on_screen(viewer: SourceViewer) -> QRectF:
    """The highlight's rectangle (all its boxes) in the page view's viewport (pixels)."""
    view = viewer.pdf_view
    scale = view.canvas.points_scale()
    rect = QRectF()
    for box in view.highlight_rects():
        rect = rect.united(box)
    origin = view.canvas.mapTo(view.viewport(), QPoint(0, 0))  # scrolled (and centred)
    return QRectF(
        origin.x() + rect.x() * scale,
        origin.y() + rect.y() * scale,
        rect.width() * scale,
        rect.height() * scale,
    )


def test_a_pdf_passage_low_on_a_page_taller_than_the_view_is_scrolled_into_view(
    qtbot, viewer, tmp_path: Path
) -> None:
    manual = _low_passage_pdf(tmp_path / "kettle.pdf")
    cited = Citation(1, str(manual), 1, None, LOW_PASSAGE, 0.7, page_count=1)
    viewer.splitter.resize(1000, 500)  # the page, fitted to the pane's width, is taller
    view = viewer.pdf_view
    for zoom in (1.0, 2.0):
        view.set_zoom(zoom)
        _open(qtbot, viewer, cited)
        assert viewer.stack.currentWidget() is view and view.highlight_rects()
        assert view.canvas.height() > view.viewport().height(), "the page must not fit the view"
        visible = QRectF(view.viewport().rect())
        box = _highlight_on_screen(viewer)
        assert view.verticalScrollBar().value() > 0, f"at {zoom}: the page was left at its top"
        assert visible.contains(box), f"at {zoom}: highlight {box} outside the view {visible}"
        view.verticalScrollBar().setValue(0)  # scrolled away, then back to the passage
        view.horizontalScrollBar().setValue(0)
        assert not visible.contains(_highlight_on_screen(viewer))
        view.scroll_to_highlight()
        assert visible.contains(_highlight_on_screen(viewer)), f"at {zoom}: not scrolled back"
    view.fit_width()


# -- Word documents and code -------------------------------------------------------------------


def test_a_word_document_opens_with_its_cited_chunk_highlighted(
    qtbot, viewer, tmp_path: Path
) -> None:
    handbook = write_docx(
        tmp_path / "handbook.docx",
        [
            ("title", "Kettle handbook"),
            ("h1", "Safety"),
            ("p", "Always unplug the kettle before you clean it or pour out the water."),
            ("h1", "Descaling"),
            ("p", "Fill the jug halfway with equal parts white vinegar and water."),
            ("p", "Let it stand for an hour, then boil it twice with fresh water."),
        ],
    )
    rows = index_chunks([handbook], tmp_path / "kb")
    row = next(r for r in rows if "white vinegar" in r.text)
    _open(qtbot, viewer, cite(row))
    assert viewer.stack.currentWidget() is viewer.text_view
    highlighted = " ".join(_words(viewer.highlighted_text()))
    assert " ".join(_words(row.text)) in highlighted
    shown = viewer.text_view.document().toPlainText()
    assert "Always unplug the kettle" in shown  # the whole document is shown,
    assert "unplug" not in highlighted  # and only the cited chunk (its own section) is marked


def test_a_code_file_opens_with_its_cited_chunk_highlighted(qtbot, viewer, tmp_path: Path) -> None:
    helpers = "\n\n".join(
        f'def helper_{n}(value: int) -> int:\n    """Helper number {n}."""\n'
        f"    return value * {n} + {n}\n"
        for n in range(120)
    )
    source = tmp_path / "kettle.py"
    source.write_text(
        '"""Kettle control."""\n\n'
        + helpers
        + "\n\n\ndef descale(volts: int) -> str:\n"
        + '    """Run the descaling cycle at ``volts``."""\n'
        + "    if volts > 240:\n"
        + '        raise ValueError("descaling needs mains voltage")\n'
        + '    return "descaled"\n',
        encoding="utf-8",
    )
    row = next(r for r in index_chunks([source], tmp_path / "kb") if "def descale" in r.text)
    _open(qtbot, viewer, cite(row))
    view = viewer.text_view
    assert viewer.stack.currentWidget() is view
    highlighted = viewer.highlighted_text().replace("\u2029", "\n")
    assert row.text.strip() in highlighted
    assert "descaling needs mains voltage" in highlighted
    assert "def helper_0(" in view.document().toPlainText() and "def helper_0(" not in highlighted
    at = view.document().toPlainText().find("def descale")
    assert view.viewport().rect().contains(_cursor_box(viewer, at)), "the code was not scrolled"
