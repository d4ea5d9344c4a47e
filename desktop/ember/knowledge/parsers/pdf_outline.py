"""A PDF's outline (bookmarks) as the headings of its pages' text.

A page is one section with no heading, so a chunk of a 300-page manual says nothing of where it
sits: "The x coordinate must be specified" could be any plotting style. The outline says which
topics start on which page; each topic's title is looked up in its page's text (as a line of its
own, in the outline's order) and the page is cut there, so every piece gets the heading path in
force at its start: ``("Plotting styles", "Errorlines")``. A title not found on its page still
takes over from the next piece of the page on, never earlier.

On gnuplot's 311-page manual (648 bookmarks) this put the right page first for 0.656 of the dev
questions instead of 0.595, and in the top 5 for 0.902 instead of 0.853
(``benchmarks/eval_manuals.py``).
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Sequence

from ember.knowledge.types import ParsedDocument, Section

MAX_DEPTH = 4  # a deeper bookmark counts as this deep: it replaces the 4th title of the path
MAX_ENTRIES = 20_000  # bookmarks read at most: millions of them must not cost minutes
_MAX_TITLE_CHARS = 120


@dataclasses.dataclass(frozen=True, slots=True)
class OutlineEntry:
    """One bookmark: its depth (0 = top), its title and the 1-based page it points to."""

    level: int
    title: str
    page: int


def read_outline(pdf: object) -> list[OutlineEntry]:
    """The bookmarks of an open ``pypdfium2.PdfDocument`` that point at a page, in order (of the
    first ``MAX_ENTRIES`` bookmarks, with or without a page); [] when it has none or they cannot
    be read: they are a nicety, and a broken outline must not fail the file."""
    entries: list[OutlineEntry] = []
    try:
        toc = pdf.get_toc(max_depth=MAX_DEPTH + 4)  # type: ignore[attr-defined]
        for item in itertools.islice(toc, MAX_ENTRIES):
            dest = item.get_dest()
            index = dest.get_index() if dest is not None else None
            title = " ".join((item.get_title() or "").split())[:_MAX_TITLE_CHARS]
            if index is not None and title:
                entries.append(OutlineEntry(item.level, title, index + 1))
    except Exception:  # PDFium or a malformed outline: go on without headings
        return []
    return entries


def with_outline(document: ParsedDocument, outline: Sequence[OutlineEntry]) -> ParsedDocument:
    """``document`` with its page sections cut where outline topics start, and headed by them.

    Sections that already have headings, or a document without an outline, come back as they are.
    """
    if not outline or any(s.heading_path for s in document.sections):
        return document
    paths: list[tuple[int, tuple[str, ...]]] = []  # (page, heading path from that topic on)
    stack: list[str] = []
    for entry in outline:
        level = min(entry.level, MAX_DEPTH - 1)
        stack = [*stack[:level], entry.title] if level <= len(stack) else [*stack, entry.title]
        paths.append((entry.page, tuple(stack)))
    # By page (stable: a page's topics keep the outline's order): an "Index" bookmark listed
    # first, or merged PDFs, must not leave the pages before it unheaded.
    paths.sort(key=lambda pair: pair[0])
    sections: list[Section] = []
    current: tuple[str, ...] = ()
    at = 0
    for section in document.sections:
        while at < len(paths) and section.page is not None and paths[at][0] < section.page:
            current = paths[at][1]  # topics on pages without text of their own
            at += 1
        if section.page is None:
            sections.append(section)
            continue
        cuts: list[tuple[int, tuple[str, ...]]] = []
        search_from = 0
        pending: tuple[str, ...] | None = None
        while at < len(paths) and paths[at][0] == section.page:
            path = paths[at][1]
            found = _line_at(section.text, path[-1], search_from)
            if found is None:
                pending = path
            else:
                cuts.append((found, path))
                search_from = found + 1
                pending = None
            at += 1
        pieces = _cut(section, current, cuts)
        sections.extend(pieces)
        current = pending or (cuts[-1][1] if cuts else current)
    return dataclasses.replace(document, sections=sections)


def _line_at(text: str, title: str, start: int) -> int | None:
    """Where a line reading ``title`` (spacing aside) starts in ``text`` at or after ``start``."""
    words = [re.escape(w) for w in title.split()]
    pattern = re.compile(r"^[ \t]*(?:[\d.]+[ \t]+)?" + r"\s+".join(words) + r"[ \t]*$", re.M)
    match = pattern.search(text, start)
    return match.start() if match else None


def _cut(
    section: Section, before: tuple[str, ...], cuts: list[tuple[int, tuple[str, ...]]]
) -> list[Section]:
    bounds = [(0, before)] + [(c, p) for c, p in cuts if c > 0]
    if cuts and cuts[0][0] == 0:
        bounds[0] = (0, cuts[0][1])
    pieces: list[Section] = []
    for number, (start, path) in enumerate(bounds):
        end = bounds[number + 1][0] if number + 1 < len(bounds) else len(section.text)
        text = section.text[start:end]
        if text.strip():
            pieces.append(dataclasses.replace(section, text=text, heading_path=path))
    return pieces
