"""Records shared across the knowledge base, the assistant and the UI (no heavy imports here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar


@dataclass(frozen=True, slots=True)
class Section:
    """A structural piece of a parsed document: a page of a PDF, a section under a heading, ..."""

    text: str
    page: int | None = None  # 1-based page number, where the format has pages
    heading_path: tuple[str, ...] = ()  # e.g. ("Installation", "On Linux")
    # The page's printed label (PDF page labels: "iv", "150"). In a format without pages (``page``
    # None) it says where the section is, in words: "slide 7", 'sheet "Q3", rows 14-16',
    # "chapter 3", "cell 5" (see :func:`page_reference`).
    page_label: str | None = None


@dataclass(frozen=True, slots=True)
class TextSource:
    """How a document's text was obtained.

    ``method`` is "text" (its text layer, or a format made of text) or "ocr" (OCR read text on
    at least one page); ``ocr_pages`` the pages (or pictures) OCR'd, ``ocr_empty_pages`` those
    of them on which OCR found no text; ``ocr_confidence`` the recogniser's mean confidence
    (0..1) over the text OCR read, None when it read none. A file in which neither found any
    text is not a document: it fails with "no text found".
    """

    method: str = "text"
    ocr_pages: int = 0
    ocr_confidence: float | None = None
    ocr_empty_pages: int = 0

    # Below this mean confidence the text OCR read may be garbled: worth a warning.
    LOW_CONFIDENCE: ClassVar[float] = 0.75

    @property
    def worrying(self) -> bool:
        """OCR read text at low confidence, or found none on some of the pages it read."""
        low = self.ocr_confidence is not None and self.ocr_confidence < self.LOW_CONFIDENCE
        return low or self.ocr_empty_pages > 0

    def describe(self, page_count: int | None = None) -> str:
        """What a person reads: "text layer", "OCR'd 12 pages, mean confidence 0.93", "text
        layer; 3 of 80 pages OCR'd, mean confidence 0.91; no text found on 1 of them".
        ``page_count``: the document's physical pages, where it has pages."""
        if not self.ocr_pages:
            return "text layer"
        pages = f"{self.ocr_pages} page{'' if self.ocr_pages == 1 else 's'}"
        whole = page_count is None or self.ocr_pages >= page_count
        if whole and self.method == "ocr":
            text = f"OCR'd {pages}"
        else:
            some = pages if whole else f"{self.ocr_pages} of {page_count} pages"
            text = f"text layer; {some} OCR'd"
        if self.ocr_confidence is not None:
            text += f", mean confidence {self.ocr_confidence:.2f}"
            if self.ocr_confidence < self.LOW_CONFIDENCE:
                text += " (low: the text found may be garbled)"
        if self.ocr_empty_pages:
            text += f"; no text found on {self.ocr_empty_pages} of them"
        return text


TEXT_LAYER = TextSource()


@dataclass(frozen=True, slots=True)
class OcrRead:
    """A file indexed with text OCR read: ``source`` says how much and how surely; ``page_count``
    its physical pages, where it has pages. ``text`` is what a person reads."""

    path: str
    source: TextSource
    page_count: int | None = None

    @property
    def text(self) -> str:
        return self.source.describe(self.page_count)


@dataclass(frozen=True, slots=True)
class ParsedDocument:
    """A parser's output: the document's sections in reading order, with its kind, title, detected
    encoding and notes for the person."""

    path: str
    kind: str  # "pdf", "docx", "html", "markdown", "rst", "text", "code", "csv", "pptx", ...
    sections: tuple[Section, ...]
    title: str | None = None
    encoding: str | None = None  # for decoded text formats: the encoding that was detected
    notes: tuple[str, ...] = ()  # things a person should know, e.g. "text truncated: ..."
    page_count: int | None = None  # physical pages, for formats that have pages (PDF)
    text_source: TextSource = TEXT_LAYER  # its text layer, or OCR (pages, mean confidence)


@dataclass(frozen=True, slots=True)
class Citation:
    """One numbered source behind an answer: ``[n]`` in the text maps to this."""

    n: int
    source: str  # file path
    page: int | None
    heading: str | None
    snippet: str
    similarity: float  # cosine similarity of the question and this source, -1..1
    page_label: str | None = None  # the page's printed label, or where it is without a page
    page_count: int | None = None  # the document's physical pages, where known
    # Where the passage is, for the source viewer: its section of the parsed document (for a
    # PDF, the page's section), ``start``/``end`` character offsets in that section's text, and
    # the file's SHA-256 when it was indexed (a different hash now: the file changed since).
    # None in citations saved before Ember kept them: the viewer then looks for the snippet.
    section: int | None = None
    start: int | None = None
    end: int | None = None
    content_hash: str | None = None

    def page_text(self, word: str = "p.") -> str | None:
        """Where in the file, as a reader finds it: see :func:`page_reference`."""
        return page_reference(self.page, self.page_label, self.page_count, word=word)


def page_reference(
    page: int | None, label: str | None = None, count: int | None = None, *, word: str = "p."
) -> str | None:
    """A page as a reader finds it: "p. 150 (178 of 261)" when the printed label (150) differs
    from the physical page (178 of ``count``), else "p. 178"; None without a page.

    ``word`` is what comes before the number ("p.", "page"); without ``count`` the physical page
    stands alone in the brackets ("p. iv (4)"). Without a page, a label is the whole locator of a
    format that has no pages and comes back as it is ("slide 7", 'sheet "Q3", row 14',
    "chapter 3"); None without either.
    """
    label = (label or "").strip()
    if page is None:
        return label or None
    if not label or label == str(page):
        return f"{word} {page}"
    physical = f"{page} of {count}" if count else str(page)
    return f"{word} {label} ({physical})"


@dataclass(frozen=True, slots=True)
class StaleSource:
    """An indexed file that retrieval left out because it is no longer what was indexed."""

    path: str
    state: str  # "deleted" or "changed" (size or modification time differ from when indexed)
    collection: str


@dataclass(frozen=True, slots=True)
class Grounding:
    """What retrieval hands the assistant for one question."""

    context: str  # the fenced, numbered, neutralised sources block for the prompt ("" if none)
    citations: tuple[Citation, ...] = ()
    abstained: bool = False  # nothing relevant found: answer "not found in your documents"
    best_similarity: float | None = None  # cosine of the question and its nearest chunk
    extra: dict[str, object] = field(default_factory=dict)
    stale: tuple[StaleSource, ...] = ()  # files that matched but were deleted or changed since
