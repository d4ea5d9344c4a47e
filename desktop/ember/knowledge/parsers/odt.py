"""OpenDocument text (.odt): text in reading order, sectioned by its headings (like DOCX).

Read through odfpy (see :mod:`odf_text`). Headings (``text:h`` with their outline level) make
the heading path; paragraphs, list items, sections and frames are read in order; a table is one
line per row, cells joined by " | ". The walk keeps an explicit stack: a crafted file nesting
lists or sections thousands deep costs no Python recursion.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ember.errors import IngestError
from ember.knowledge.parsers.base import Blocks, TextBudget, sections_from_blocks
from ember.knowledge.parsers.odf_text import TABLE_NS, TEXT_NS, children, inline_text, load
from ember.knowledge.types import ParsedDocument

_WHAT = "OpenDocument text"
_H, _P = (TEXT_NS, "h"), (TEXT_NS, "p")
_ROW, _CELL = (TABLE_NS, "table-row"), (TABLE_NS, "table-cell")
# Not the document's running text: tracked deletions and the like, and generated indexes
# (a table of contents repeats the headings).
_SKIP = frozenset(
    {
        (TEXT_NS, "tracked-changes"),
        (TEXT_NS, "table-of-content"),
        (TEXT_NS, "sequence-decls"),
        (TEXT_NS, "variable-decls"),
    }
)


def parse(path: Path) -> ParsedDocument:
    """A text document as sections under its headings; titled from its first heading.

    Raises :class:`IngestError` for an unsafe archive, a file that is not a (sound) OpenDocument
    text, or one without text.
    """
    document = load(path, _WHAT)
    blocks, first_heading = _blocks(document.text)
    budget = TextBudget()
    sections = sections_from_blocks(blocks, budget)
    if not sections:
        raise IngestError("no text found in this OpenDocument text")
    return ParsedDocument(
        str(path), "odt", sections, title=first_heading, notes=tuple(budget.notes)
    )


def _blocks(body: Any) -> tuple[Blocks, str | None]:
    blocks: Blocks = [((), [])]
    path: list[str] = []
    first_heading = None
    stack = [children(body)]
    while stack:
        element = next(stack[-1], None)
        if element is None:
            stack.pop()
            continue
        qname = element.qname
        if qname == _H:
            title = " ".join(inline_text(element).split())
            if not title:
                continue
            level = element.attributes.get((TEXT_NS, "outline-level")) or "1"
            depth = min(int(level), 10) if level.isdigit() and level != "0" else 1
            del path[depth - 1 :]
            path.append(title)
            first_heading = first_heading or title
            blocks.append((tuple(path), []))
        elif qname == _P:
            blocks[-1][1].append(inline_text(element))
        elif qname == _ROW:
            cells = [
                " ".join(inline_text(c).split()) for c in children(element) if c.qname == _CELL
            ]
            if any(cells):
                blocks[-1][1].append(" | ".join(cells))
        elif qname not in _SKIP:
            stack.append(children(element))
    return blocks, first_heading
