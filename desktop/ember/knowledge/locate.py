"""Where a cited passage is now, in the text the source viewer shows.

A citation says which file, page and section its passage came from, the passage's character
offsets in that section's text, and the file's SHA-256 when it was indexed (citations saved
before Ember kept offsets and hash have only the snippet). :func:`locate` reads the file again:

* **PDF**: one page, through the parser's own code path (PDFium's text put in reading order,
  hyphens rejoined, cleaned), so ``text[start:end]`` is the chunk again. The viewer shows the
  page as PDFium draws it, and highlights by PDFium's *character indices*, which follow the
  content stream: the passage is looked up in that raw text, and a passage from a page Ember
  reordered (columns) comes back as several runs.
* **Other formats**: the document parsed again (sandboxed where the format is risky), its
  sections one after another as plain text; the passage is at its offsets in its section.

Matching ignores case, whitespace, punctuation and line-end hyphens (only letters and digits are
compared, after NFKC, so a ligature "ﬁ" is "fi"): extraction and the page's own text differ in
exactly those. A file whose hash differs from the indexed one is said to have changed and gets no
highlight (the passage may have moved); a passage not found on its page is said so too.
"""

from __future__ import annotations

import bisect
import threading
import unicodedata
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from ember.errors import IngestError
from ember.files import sha256_file, shown_path
from ember.knowledge.pdfium_lock import PDFIUM
from ember.knowledge.types import Citation, ParsedDocument

LocateState = Literal["found", "not_found", "changed", "missing", "unreadable"]
Span = tuple[int, int]

# A run of the passage shorter than this many letters and digits is only taken where it
# continues the run before it: alone, "of" matches anywhere on a page.
MIN_RUN = 4
# Below this share of the passage's letters and digits found, it counts as not found.
MIN_FOUND_SHARE = 0.6
_KEY_BLOCK = 65_536  # characters keyed at a time
SECTION_GAP = "\n\n"  # between sections in a non-PDF document's shown text

_hashes: dict[tuple[str, int, int], str] = {}  # (path, size, mtime_ns) -> SHA-256, this run
_hashes_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class Location:
    """What the viewer shows for one source: ``text`` with the passage at ``spans``.

    ``kind``: the document kind ("pdf", "markdown", ...; None when the file could not be read).
    PDF: ``page`` (1-based) is the page shown, ``page_count`` its document's, and ``text`` is
    PDFium's text of that page, one character per character index, so a span ``(start, end)``
    is a character range QtPdf can select. Other formats: ``text`` is the parsed document, its
    sections separated by blank lines. ``state`` says whether the passage was found; ``note``
    says what a person should know when it was not (or the file changed, or is gone).
    """

    path: str
    kind: str | None
    state: LocateState
    text: str = ""
    spans: tuple[Span, ...] = ()
    page: int | None = None
    page_count: int | None = None
    note: str | None = None


def locate(citations: Citation | Sequence[Citation]) -> Location:
    """The passages of ``citations`` (one, or several of the same file and page) in the text the
    viewer shows. Never raises for a file that is gone, changed or unreadable: the returned
    :class:`Location` says so."""
    cited = (citations,) if isinstance(citations, Citation) else tuple(citations)
    first = cited[0]
    path = Path(first.source)
    if not path.is_file():
        return Location(first.source, None, "missing", page=first.page, note=_missing(path))
    changed = _changed(path, [c.content_hash for c in cited])
    try:
        if _is_pdf(path):
            return _locate_pdf(path, cited, changed)
        return _locate_parsed(path, cited, changed)
    except IngestError as exc:
        return Location(first.source, None, "unreadable", page=first.page, note=str(exc))


def find_passage(text: str, passage: str) -> tuple[Span, ...]:
    """Character spans of ``text`` that hold ``passage``, in the passage's order; () when less
    than :data:`MIN_FOUND_SHARE` of it is there.

    Compares letters and digits only (see the module's notes). A passage that ``text`` holds in
    another order (a column read after the next one) comes back as one span per run.
    """
    hay, where = _keys(text)
    needle, places = _keys(passage)
    if not hay or not needle:
        return ()
    # Where the passage's words start: a run stops at one, so that "summer" + the "m" of the
    # next line's "must" does not pass for the start of "summer months".
    starts = [i for i in range(1, len(places)) if places[i] - places[i - 1] > 1]
    boundaries = set(starts)
    runs: list[Span] = []
    at = after = matched = 0
    while at < len(needle):
        length = _longest_prefix(hay, needle, at)
        end = at + length
        if end < len(needle) and end not in boundaries:
            cut = bisect.bisect_left(starts, end) - 1
            if cut >= 0 and starts[cut] > at:
                length = starts[cut] - at
        piece = needle[at : at + length]
        if length and hay.startswith(piece, after):
            found = after  # it simply goes on
        elif length >= MIN_RUN:
            found = hay.find(piece, after)
            found = found if found >= 0 else hay.find(piece)
        else:  # too short to place: skip a character of the passage
            at += 1
            continue
        runs.append((found, found + length))
        after, at, matched = found + length, at + length, matched + length
    if matched < MIN_FOUND_SHARE * len(needle):
        return ()
    spans: list[Span] = []
    for start, end in runs:
        first, last = where[start], where[end - 1] + 1
        if spans and spans[-1][1] <= first and not _keys(text[spans[-1][1] : first])[0]:
            spans[-1] = (spans[-1][0], last)  # only spaces and punctuation between: one span
        else:
            spans.append((first, last))
    return tuple(spans)


# -- PDF ------------------------------------------------------------------------------------------


def _locate_pdf(path: Path, cited: tuple[Citation, ...], changed: bool) -> Location:
    with PDFIUM:  # PDFium is not thread-safe: two sources opened at once take turns
        raw, section, number, count = _read_pdf_page(path, cited[0].page, changed)
    base = Location(str(path), "pdf", "changed", raw, page=number, page_count=count)
    if changed:
        return _with(base, "changed", (), _changed_note(path))
    spans: list[Span] = []
    for citation in cited:
        spans.extend(find_passage(raw, _passage(section or "", citation)[0]))
    if not spans:
        return _with(base, "not_found", (), _not_found_note(number))
    return _with(base, "found", tuple(dict.fromkeys(spans)), None)


def _read_pdf_page(
    path: Path, cited_page: int | None, changed: bool
) -> tuple[str, str | None, int, int]:
    """Page ``cited_page``'s (clamped to the document) raw PDFium text, its section text as
    indexing made it (None when ``changed``), its number and the page count. Hold
    :data:`PDFIUM`."""
    import pypdfium2 as pdfium

    from ember.knowledge.parsers.pdf import _open_error, section_text
    from ember.knowledge.parsers.pdf_layout import raw_text

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        raise _open_error(exc) from None
    try:
        count = len(pdf)
        number = min(max(cited_page or 1, 1), max(count, 1))
        page = pdf[number - 1]
        try:
            textpage = page.get_textpage()
            try:
                raw = raw_text(textpage)
                section = None if changed else section_text(page, textpage, number - 1)
            finally:
                textpage.close()
        finally:
            page.close()
    except pdfium.PdfiumError:
        raise IngestError("damaged PDF: this page could not be read") from None
    finally:
        pdf.close()
    return raw, section, number, count


def _is_pdf(path: Path) -> bool:
    from ember.knowledge.detect import probe

    return probe(path).kind == "pdf"


# -- other formats --------------------------------------------------------------------------------


def shown_text(document: ParsedDocument) -> tuple[str, list[int]]:
    """A parsed document as the viewer shows it: its sections' texts separated by blank lines,
    with where each section starts in it (by section index; -1 for an empty section)."""
    parts: list[str] = []
    starts: list[int] = []
    offset = 0
    for section in document.sections:
        if not section.text.strip():
            starts.append(-1)
            continue
        if parts:
            parts.append(SECTION_GAP)
            offset += len(SECTION_GAP)
        starts.append(offset)
        parts.append(section.text)
        offset += len(section.text)
    return "".join(parts), starts


def _locate_parsed(path: Path, cited: tuple[Citation, ...], changed: bool) -> Location:
    from ember.knowledge.sandbox import parse_file

    document = parse_file(path)
    text, starts = shown_text(document)
    base = Location(str(path), document.kind, "changed", text, page=cited[0].page)
    if changed:
        return _with(base, "changed", (), _changed_note(path))
    spans: list[Span] = []
    for citation in cited:
        index = citation.section
        section = ""
        if index is not None and 0 <= index < len(starts) and starts[index] >= 0:
            section = document.sections[index].text
        passage, exact = _passage(section, citation)
        if exact and index is not None and citation.start is not None:  # still where it was
            begin = starts[index] + citation.start
            spans.append((begin, begin + len(passage)))
        else:
            spans.extend(find_passage(text, passage))
    if not spans:
        return _with(base, "not_found", (), "The cited passage was not found in this file.")
    return _with(base, "found", tuple(dict.fromkeys(spans)), None)


# -- shared ---------------------------------------------------------------------------------------


def _passage(section: str, citation: Citation) -> tuple[str, bool]:
    """The cited chunk's text in ``section`` and True where its offsets still hold it (its start
    agrees with the snippet); else the snippet (without its closing "…") and False."""
    snippet = citation.snippet.removesuffix("…")
    start, end = citation.start, citation.end
    head = _keys(snippet)[0][:40]
    if start is not None and end is not None and 0 <= start < end <= len(section):
        passage = section[start:end]
        if _keys(passage)[0].startswith(head):
            return passage, True
    if start is not None and end is not None and head and 0 <= start < end:
        # A PDF page cut at its outline's topics: the offsets are in the piece, not the page.
        keys, where = _keys(section)
        found = keys.find(head)
        if found >= 0:
            begin = where[found]
            return section[begin : begin + end - start], False
    return snippet, False


def _changed(path: Path, hashes: Sequence[str | None]) -> bool:
    """Whether the file's SHA-256 now differs from one recorded at indexing (False when none
    was recorded: a citation from before Ember kept it)."""
    known = [h for h in hashes if h]
    if not known:
        return False
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    with _hashes_lock:
        digest = _hashes.get(key)
    if digest is None:
        digest = sha256_file(path)
        with _hashes_lock:
            _hashes[key] = digest
    return any(h != digest for h in known)


def _keys(text: str) -> tuple[str, array[int]]:
    """``text``'s letters and digits, lower-cased (NFKC outside ASCII), and where each is.

    Built in blocks of :data:`_KEY_BLOCK` characters, the places in an array: one ``join`` of
    a 50 M-character document's keys, or freeing a list of as many ints, would hold the GIL,
    and so the window, for a good part of a second."""
    blocks: list[str] = []
    where = array("q")
    for base in range(0, len(text), _KEY_BLOCK):
        keys: list[str] = []
        for i, char in enumerate(text[base : base + _KEY_BLOCK], base):
            if char.isascii():
                if char.isalnum():
                    keys.append(char.lower())
                    where.append(i)
                continue
            for key in unicodedata.normalize("NFKC", char).lower():
                if key.isalnum():
                    keys.append(key)
                    where.append(i)
        blocks.append("".join(keys))
    return "".join(blocks), where


def _longest_prefix(hay: str, needle: str, at: int) -> int:
    """The length of the longest prefix of ``needle[at:]`` found anywhere in ``hay``."""
    low, high = 0, len(needle) - at
    while low < high:
        middle = (low + high + 1) // 2
        if hay.find(needle[at : at + middle]) >= 0:
            low = middle
        else:
            high = middle - 1
    return low


def _with(
    base: Location, state: LocateState, spans: tuple[Span, ...], note: str | None
) -> Location:
    return replace(base, state=state, spans=spans, note=note)


def _missing(path: Path) -> str:
    return f"{shown_path(str(path))} is not there any more: it was moved or deleted."


def _changed_note(path: Path) -> str:
    return (
        f"{shown_path(path.name)} has changed since it was indexed, so the cited passage may no "
        "longer be where it was: it is not highlighted. Re-index the file to cite it again."
    )


def _not_found_note(page: int) -> str:
    return f"The cited passage was not found on page {page}: the page is shown without it."
