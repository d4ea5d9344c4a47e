"""Word (.docx) text through python-docx, in reading order, sectioned by its headings.

The archive is vetted by :mod:`zipguard` first: python-docx would otherwise read a zip bomb whole.
Tables are kept as ``cell | cell`` rows where they stand in the text.
"""

from __future__ import annotations

import re
from pathlib import Path

from ember.errors import IngestError
from ember.knowledge.parsers.base import TextBudget, sections_from_blocks
from ember.knowledge.parsers.zipguard import check_zip
from ember.knowledge.types import ParsedDocument

_HEADING_STYLE = re.compile(r"^heading\s*(\d)$", re.IGNORECASE)


def parse(path: Path) -> ParsedDocument:
    """A Word document as sections under its headings, titled from its properties, its Title style
    or its first heading.

    Raises :class:`IngestError` for an unsafe archive, a file that is not a (sound) Word document,
    or one without text.
    """
    check_zip(path)
    document = _open(path)
    blocks: list[tuple[tuple[str, ...], list[str]]] = [((), [])]
    stack: list[tuple[int, str]] = []  # (level, heading text) from the outermost down
    title: str | None = None
    for item in document.iter_inner_content():
        if hasattr(item, "rows"):  # a table
            blocks[-1][1].extend(_table_lines(item))
            continue
        text = item.text.strip()
        if not text:
            continue
        level = _heading_level(item)
        if level is None:
            blocks[-1][1].append(text)
            continue
        if level == 0:  # the "Title" style names the document rather than opening a section
            title = title or text
            continue
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, text))
        blocks.append((tuple(heading for _, heading in stack), []))
    budget = TextBudget()
    sections = sections_from_blocks(blocks, budget)
    if not sections:
        raise IngestError("no text found in this Word document")
    core_title = (document.core_properties.title or "").strip()
    return ParsedDocument(
        str(path),
        "docx",
        sections,
        title=core_title or title or (stack[0][1] if stack else None),
        notes=tuple(budget.notes),
    )


def _open(path: Path) -> object:
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from lxml.etree import XMLSyntaxError

    try:
        return docx.Document(str(path))
    except PackageNotFoundError:
        raise IngestError("not a Word document (.docx): the package has no document") from None
    except (KeyError, ValueError):
        raise IngestError(
            "not a Word document (.docx): it is some other kind of ZIP file"
        ) from None
    except XMLSyntaxError:
        raise IngestError("damaged Word document: its XML is malformed") from None


def _heading_level(paragraph: object) -> int | None:
    """0 for the Title style, 1-9 for Heading 1-9, None for body text."""
    try:
        name = (paragraph.style.name or "").strip()  # type: ignore[attr-defined]
    except (AttributeError, KeyError):
        return None
    if name.lower() == "title":
        return 0
    match = _HEADING_STYLE.match(name)
    return int(match.group(1)) if match else None


def _table_lines(table: object) -> list[str]:
    lines = []
    for row in table.rows:  # type: ignore[attr-defined]
        cells: list[str] = []
        for cell in row.cells:
            text = " ".join(cell.text.split())
            if not cells or cells[-1] != text:  # merged cells repeat; say them once
                cells.append(text)
        line = " | ".join(cells).strip(" |")
        if line:
            lines.append(line)
    return lines
