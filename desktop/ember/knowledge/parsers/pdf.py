"""PDF text, page by page, through PDFium (pypdfium2). Page numbers are 1-based.

Each page's text is put in reading order (:mod:`.pdf_layout`: side-by-side columns one after the
other), words broken at a line end are rejoined or keep their hyphen (:mod:`.hyphenation`), and
what was typed into a form that was never flattened follows the page's text as "Label: value"
lines (:mod:`.pdf_forms`). Should putting a page in order fail (a bug), that page keeps PDFium's
own text, as before, and the failure is logged at debug level.

Where the PDF has an outline (bookmarks), each page is cut where a topic starts and every piece
is headed by its topic's path (:mod:`.pdf_outline`), so a chunk is embedded with where it sits.

Where the PDF has page labels (the numbers printed on its pages: "iv" in the front matter, "150"
on the 178th page of a book), each section keeps its page's label beside its physical page
number, and the document its page count, so a citation can read "p. 150 (178 of 261)".

PDFium tries the empty user password by itself, so "protected" PDFs that open without one (only
printing or copying restricted) just work.

A page without a text layer (a scan) that has something on it is rendered at 300 dpi and read
by OCR (:mod:`ember.knowledge.ocr`: rapidocr's PP-OCR models, inside its wheel, chosen over
Tesseract for reading clean 300 dpi pages as well (0.995 of characters) 3-4 times faster with
no system package to install; the figures are there), with progress "OCR page 12/80"; the
document's ``text_source`` says how many pages were OCR'd and with what mean confidence. At most
``MAX_OCR_PAGES`` pages of a file are OCR'd (seconds each); a note counts those left unread. A
PDF in which neither the text layer nor OCR finds any text is refused with "no text found",
rather than indexed as nothing.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ember.errors import IngestError
from ember.knowledge.ocr import MAX_OCR_PAGES, MAX_SIDE_PX, OcrTally, read_image
from ember.knowledge.page_progress import ocr_page, page_read
from ember.knowledge.parsers.base import TextBudget, clean_text
from ember.knowledge.parsers.pdf_forms import FormReader
from ember.knowledge.parsers.pdf_layout import page_text
from ember.knowledge.parsers.pdf_outline import read_outline, with_outline
from ember.knowledge.pdfium_lock import PDFIUM
from ember.knowledge.types import ParsedDocument, Section

# PDFium's FPDF_GetLastError codes, as pypdfium2 passes them on in PdfiumError.err_code.
_ERR_FILE, _ERR_FORMAT, _ERR_PASSWORD, _ERR_SECURITY = 2, 3, 4, 5

log = logging.getLogger(__name__)

NO_TEXT = "no text found: the PDF has no text layer, and OCR found no text on its pages"
OCR_DPI = 300


def parse(path: Path) -> ParsedDocument:
    """A PDF's text layer, one section per page (1-based page numbers).

    Raises :class:`IngestError` if it cannot be opened (damaged, password protected, ...), has no
    pages, no page can be read, or it has no text layer. Holds :data:`~ember.knowledge.
    pdfium_lock.PDFIUM` throughout: PDFium is not thread-safe.
    """
    with PDFIUM:
        return _parse(path)


def _parse(path: Path) -> ParsedDocument:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        raise _open_error(exc) from None
    try:
        page_count = len(pdf)
        if page_count == 0:
            raise IngestError("the PDF has no pages")
        budget = TextBudget()
        forms = FormReader(pdf)
        texts: dict[int, str] = {}
        unreadable = not_ocrd = 0
        tally = OcrTally()
        for index in range(page_count):
            if budget.exhausted:
                budget.truncated()
                break
            try:
                text = _page_text(pdf, index, forms)
            except pdfium.PdfiumError:
                unreadable += 1
                continue
            text = clean_text(text)
            if not text and tally.pages >= MAX_OCR_PAGES:
                not_ocrd += 1  # a crafted file of 100,000 near-empty pages: days of OCR
            elif not text:
                try:
                    text = _ocr_page(pdf, index, page_count, tally)
                except pdfium.PdfiumError:
                    unreadable += 1
                    continue
            if text:
                texts[index] = budget.take(text)
            page_read(index + 1, page_count)
        fields, form_notes = _form_fields(forms)
        for index, lines in sorted(fields.items()):
            typed = budget.take("\n".join(lines))
            if typed:
                texts[index] = f"{texts.get(index, '')}\n\n{typed}".strip()
        skipped_note = (
            f"{not_ocrd} more pages without a text layer were not OCR'd: Ember OCRs at most "
            f"{MAX_OCR_PAGES:,} pages of one file"
        )
        if not texts:
            if unreadable:
                raise IngestError("damaged PDF: no page could be read")
            raise IngestError(f"no text found: {skipped_note}" if not_ocrd else NO_TEXT)
        title = _title(pdf)
        outline = read_outline(pdf)
        labels = {index: _page_label(pdf, index) for index in texts}
    finally:
        pdf.close()
    sections = tuple(
        Section(texts[index], page=index + 1, page_label=labels[index]) for index in sorted(texts)
    )
    notes = list(budget.notes) + form_notes
    if not_ocrd:
        notes.insert(0, skipped_note)
    if unreadable:
        notes.append(f"{unreadable} of {page_count} pages could not be read (damaged PDF)")
    document = ParsedDocument(
        str(path),
        "pdf",
        sections,
        title=title,
        notes=tuple(notes),
        page_count=page_count,
        text_source=tally.source(),
    )
    return with_outline(document, outline)


def _ocr_page(pdf: object, index: int, page_count: int, tally: OcrTally) -> str:
    """Page ``index`` (0-based) rendered at ``OCR_DPI`` (its longest side at most ``MAX_SIDE_PX``)
    and read by OCR, cleaned; "" for a page with nothing drawn on it (not OCR'd)."""
    page = pdf[index]  # type: ignore[index]
    try:
        if next(iter(page.get_objects(max_depth=1)), None) is None:
            return ""  # a blank page: nothing to read, not worth a second of OCR
        width, height = page.get_size()
        scale = min(OCR_DPI / 72, MAX_SIDE_PX / max(width, height, 1.0))
        ocr_page(index + 1, page_count)
        bitmap = page.render(scale=scale, grayscale=True)
        try:
            picture = bitmap.to_pil()
        finally:
            bitmap.close()
    finally:
        page.close()
    result = read_image(picture)
    tally.add(result)
    return clean_text(result.text)


def _page_label(pdf: object, index: int) -> str | None:
    """The label printed on page ``index`` (0-based) by the PDF's /PageLabels, or None where it
    has none (PDFium then answers "")."""
    try:
        label = pdf.get_page_label(index)  # type: ignore[attr-defined]
    except MemoryError:
        raise
    except Exception:  # a label is a nicety; a broken number tree must not fail the file
        return None
    label = " ".join(str(label).split())
    return label[:32] or None


def _page_text(pdf: object, index: int, forms: FormReader) -> str:
    """The page's text in reading order; its form widgets are noted for ``forms.read``."""
    page = pdf[index]  # type: ignore[index]
    try:
        textpage = page.get_textpage()
        try:
            text = _ordered_text(page, textpage, index)
        finally:
            textpage.close()
        forms.scan(page, index)
        return text
    finally:
        page.close()


def section_text(page: object, textpage: object, index: int) -> str:
    """Page ``index``'s (0-based) text as indexing made its section: in reading order, cleaned
    (without the form values that follow it). The offsets of its chunks count in this text."""
    return clean_text(_ordered_text(page, textpage, index))


def _ordered_text(page: object, textpage: object, index: int) -> str:
    """The page's text in reading order; PDFium's own (its line-end hyphens joined, as cleaning
    drops their marks) if putting it in order fails."""
    try:
        return page_text(textpage, rotated=page.get_rotation() != 0)  # type: ignore[attr-defined]
    except MemoryError:
        raise
    except Exception:  # a bug in the layout must cost the page its order, not the file
        log.debug("page %d: reading order failed, PDFium's order kept", index + 1, exc_info=True)
        return textpage.get_text_range()  # type: ignore[attr-defined]


def _form_fields(forms: FormReader) -> tuple[dict[int, list[str]], list[str]]:
    try:
        return forms.read()
    except MemoryError:
        raise
    except Exception:  # typed-in values are a bonus; a form PDFium chokes on must not fail the file
        return {}, ["the values typed into this PDF's form fields could not be read"]


def _title(pdf: object) -> str | None:
    try:
        title = pdf.get_metadata_dict().get("Title", "")  # type: ignore[attr-defined]
    except Exception:  # metadata is a nicety; a broken info dictionary must not fail the file
        return None
    return title.strip() or None


def _open_error(exc: Exception) -> IngestError:
    code = getattr(exc, "err_code", None)
    if code == _ERR_PASSWORD:
        return IngestError(
            "password protected PDF: Ember cannot open it; save a copy without a password"
        )
    if code == _ERR_SECURITY:
        return IngestError("this PDF uses an unsupported security handler (encryption)")
    if code == _ERR_FILE:
        return IngestError("could not open the PDF file (missing or unreadable)")
    return IngestError("damaged PDF: PDFium could not read its structure")
