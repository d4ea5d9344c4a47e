"""EPUB books: chapters in reading (spine) order, each located as "chapter 3".

The archive is vetted by :mod:`zipguard` first; XHTML may carry a plain DOCTYPE but never an
ENTITY declaration. The package (reading order, title, table of contents) is read by
:mod:`epub_package` on the standard library and defusedxml. Each spine document with text is a
chapter, numbered from 1 in reading order (a cover or title page with text counts too, as a
reader's "chapter 1" of the file); its XHTML goes through the HTML parser's extraction
(:func:`ember.knowledge.parsers.html.extract`), so its h1-h6 make the heading path. A chapter
whose first block has no heading is put under its title from the book's table of contents.
"""

from __future__ import annotations

import dataclasses
import zipfile
import zlib
from pathlib import Path

from ember.errors import IngestError
from ember.knowledge.decode import decode_bytes
from ember.knowledge.parsers.base import TextBudget, sections_from_blocks
from ember.knowledge.parsers.epub_package import DAMAGED, read_package
from ember.knowledge.parsers.zipguard import EPUB_XML_SUFFIXES, check_zip
from ember.knowledge.types import ParsedDocument, Section

_WHAT = "EPUB book"


def parse(path: Path) -> ParsedDocument:
    """A book as sections under its chapters' headings, located by chapter.

    Raises :class:`IngestError` for an unsafe archive, a file that is not a (sound) EPUB, or one
    without text.
    """
    check_zip(path, what=_WHAT, xml_suffixes=EPUB_XML_SUFFIXES, allow_doctype=True)
    try:
        with zipfile.ZipFile(path) as archive:
            package = read_package(archive)
            sections, notes = _chapters(archive, package.chapters, package.toc_titles)
    except (KeyError, zipfile.BadZipFile, zlib.error, EOFError):
        raise IngestError(DAMAGED) from None
    if not sections:
        raise IngestError("no text found in this EPUB book")
    return ParsedDocument(str(path), "epub", tuple(sections), title=package.title, notes=notes)


def _chapters(
    archive: zipfile.ZipFile, documents: tuple[str, ...], titles: dict[str, str]
) -> tuple[list[Section], tuple[str, ...]]:
    """Sections of the documents with text, each located by its chapter number; budget notes."""
    from ember.knowledge.parsers.html import extract

    budget = TextBudget()
    sections: list[Section] = []
    chapter = 0
    for name in documents:
        if budget.exhausted:
            budget.truncated()
            break
        _, blocks = extract(decode_bytes(archive.read(name)).text)
        toc_title = titles.get(name)
        if toc_title:
            blocks = [(path_ or (toc_title,), lines) for path_, lines in blocks]
        found = sections_from_blocks(blocks, budget)
        if not found:
            continue
        chapter += 1
        where = f"chapter {chapter}"
        sections.extend(dataclasses.replace(s, page_label=where) for s in found)
    return sections, tuple(budget.notes)
