"""EPUB books: chapters in reading (spine) order, each located as "chapter 3".

The archive is vetted by :mod:`zipguard` first (ebooklib reads every member whole); XHTML may
carry a plain DOCTYPE but never an ENTITY declaration. Each spine document with text is a
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
from typing import Any

from ember.errors import IngestError
from ember.knowledge.decode import decode_bytes
from ember.knowledge.parsers.base import TextBudget, sections_from_blocks
from ember.knowledge.parsers.zipguard import EPUB_XML_SUFFIXES, check_zip
from ember.knowledge.types import ParsedDocument, Section

_WHAT = "EPUB book"


def parse(path: Path) -> ParsedDocument:
    """A book as sections under its chapters' headings, located by chapter.

    Raises :class:`IngestError` for an unsafe archive, a file that is not a (sound) EPUB, or one
    without text.
    """
    from ember.knowledge.parsers.html import extract

    check_zip(path, what=_WHAT, xml_suffixes=EPUB_XML_SUFFIXES, allow_doctype=True)
    book = _open(path)
    titles = _toc_titles(book.toc)
    budget = TextBudget()
    sections: list[Section] = []
    chapter = 0
    for item in _spine_documents(book):
        if budget.exhausted:
            budget.truncated()
            break
        markup = decode_bytes(item.get_content()).text
        _, blocks = extract(markup)
        toc_title = titles.get(item.get_name())
        if toc_title:
            blocks = [(path_ or (toc_title,), lines) for path_, lines in blocks]
        found = sections_from_blocks(blocks, budget)
        if not found:
            continue
        chapter += 1
        where = f"chapter {chapter}"
        sections.extend(dataclasses.replace(s, page_label=where) for s in found)
    if not sections:
        raise IngestError("no text found in this EPUB book")
    titles_meta = book.get_metadata("DC", "title")
    title = str(titles_meta[0][0]).strip() if titles_meta else None
    return ParsedDocument(
        str(path), "epub", tuple(sections), title=title or None, notes=tuple(budget.notes)
    )


def _open(path: Path) -> Any:
    import ebooklib
    from ebooklib import epub

    try:
        return epub.read_epub(str(path), options={"ignore_ncx": True})
    except (KeyError, zipfile.BadZipFile, zlib.error, EOFError):
        raise IngestError(f"damaged {_WHAT}: a part it needs is missing or corrupt") from None
    except (epub.EpubException, ebooklib.epub.EpubException):
        raise IngestError("not an EPUB book: it has no package document") from None
    except (SyntaxError, ValueError, AttributeError, TypeError) as exc:
        raise IngestError(f"damaged {_WHAT}: {type(exc).__name__}") from None


def _spine_documents(book: Any) -> list[Any]:
    import ebooklib

    documents = []
    for entry in book.spine:
        idref = entry[0] if isinstance(entry, tuple) else entry
        item = book.get_item_with_id(idref)
        if item is not None and item.get_type() == ebooklib.ITEM_DOCUMENT:
            if getattr(item, "is_chapter", lambda: True)():
                documents.append(item)
    return documents


def _toc_titles(toc: Any) -> dict[str, str]:
    """Document file name -> its title in the table of contents (the first entry naming it)."""
    titles: dict[str, str] = {}
    stack = [iter(toc)]
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            continue
        if isinstance(entry, tuple):  # (section, children)
            entry, children = entry[0], entry[1]
            stack.append(iter(children))
        href = str(getattr(entry, "href", None) or getattr(entry, "file_name", "") or "")
        title = " ".join(str(getattr(entry, "title", "") or "").split())
        if href and title:
            titles.setdefault(href.split("#", 1)[0], title)
    return titles
