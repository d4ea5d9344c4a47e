"""The source viewer's highlight on real PDFs: for cited chunks of PDFs made here and of R's
236-page "Writing R Extensions" manual, the region the viewer paints (QtPdf's rectangles of the
passage's character ranges) holds the chunk's text, checked independently by reading back what
PDFium finds inside those rectangles."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from tests.support import nasty_files
from tests.support.citations import cite, index_chunks
from tests.support.labeled_pdf import write_labeled_manual
from tests.support.manuals import manual

from ember.knowledge.locate import locate
from ember.knowledge.store import ChunkRow
from ember.ui.pdf_page import highlight_rects

SAMPLES = 48  # chunks of the manual, spread evenly over its pages
GOAL = 0.95


def _stream(text: str) -> str:
    """Letters and digits only, lower-cased: how the check compares texts."""
    return "".join(c for c in unicodedata.normalize("NFKC", text).lower() if c.isalnum())


def _holds_in_order(highlighted: str, chunk: str) -> bool:
    """Every word of ``chunk`` is in ``highlighted``, in order, and the highlight is not much
    more than the chunk (a whole page highlighted would hold any chunk)."""
    stream, whole = _stream(highlighted), _stream(chunk)
    if not whole or len(stream) > 1.5 * len(whole) + 40:
        return False
    position = 0
    for word in re.findall(r"\w+", unicodedata.normalize("NFKC", chunk).lower()):
        word = _stream(word)
        found = stream.find(word, position)
        if found < 0:
            return False
        position = found + len(word)
    return True


def _merged(rects: list) -> list:
    """Rectangles in order, each run of overlapping ones made one: PDFium draws "LaTeX" as
    five overlapping objects, and reading each back would read the letters twice."""
    merged: list = []
    for rect in rects:
        if merged and merged[-1].intersects(rect):
            merged[-1] = merged[-1].united(rect)
        else:
            merged.append(rect)
    return merged


def _highlighted_share(qtbot, rows: list[ChunkRow]) -> tuple[float, list[str]]:
    """The share of ``rows`` whose painted highlight holds their text, and what failed."""
    import pypdfium2 as pdfium
    from PySide6.QtPdf import QPdfDocument

    documents: dict[str, tuple[QPdfDocument, pdfium.PdfDocument]] = {}
    good, failures = 0, []
    for row in rows:
        if row.path not in documents:
            qt_document = QPdfDocument(None)
            assert qt_document.load(row.path) == QPdfDocument.Error.None_
            documents[row.path] = (qt_document, pdfium.PdfDocument(row.path))
        qt_document, pdf = documents[row.path]
        location = locate(cite(row))
        rects = _merged(highlight_rects(qt_document, row.page - 1, location.spans))
        page = pdf[row.page - 1]
        textpage = page.get_textpage()
        height = page.get_height()
        highlighted = "\n".join(
            textpage.get_text_bounded(
                left=r.left(), bottom=height - r.bottom(), right=r.right(), top=height - r.top()
            )
            for r in rects
        )
        if location.state == "found" and _holds_in_order(highlighted, row.text):
            good += 1
        else:
            failures.append(f"page {row.page} [{location.state}]: {row.text[:80]!r}")
    for qt_document, pdf in documents.values():
        qt_document.close()
        pdf.close()
    return good / len(rows), failures


def test_every_chunk_of_pdfs_made_here_is_highlighted_where_it_is(qtbot, tmp_path: Path) -> None:
    columns = nasty_files.column_lines(
        [
            ["Pump room procedure. Before the first", "start of the season the zelvanic pump",
             "must be primed with warm brine from", "tank three, never with fresh water."],
            ["Canteen notice. The kitchen closes", "at four on Fridays during the summer",
             "months. Lunch vouchers for visiting", "contractors are issued at reception."],
        ],
        lefts=[60, 320],
    )  # fmt: skip
    hyphens = nasty_files.column_lines(
        [
            ["The schedule for routine main-", "tenance lists every price-", "determining factor."],
            ["Each well-", "known supplier of self-", "contained units is listed here."],
        ],
        lefts=[60, 320],
    )
    files = [
        write_labeled_manual(tmp_path / "kettle.pdf"),
        nasty_files.write_layout_pdf(tmp_path / "newsletter.pdf", [columns, hyphens]),
    ]
    rows = index_chunks(files, tmp_path / "kb")
    share, failures = _highlighted_share(qtbot, rows)
    assert share == 1.0, failures


def test_cited_chunks_of_a_236_page_manual_are_highlighted_where_they_are(
    qtbot, tmp_path: Path
) -> None:
    rows = index_chunks([manual("R-exts")], tmp_path / "kb")
    step = len(rows) / SAMPLES
    sample = [rows[int(i * step)] for i in range(SAMPLES)]
    assert len({row.page for row in sample}) >= SAMPLES * 0.9  # spread over the whole manual
    share, failures = _highlighted_share(qtbot, sample)
    print(f"R-exts: {share:.1%} of {len(sample)} cited chunks highlighted where they are")
    assert share >= GOAL, failures
