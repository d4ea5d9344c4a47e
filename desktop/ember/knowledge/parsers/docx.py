"""Word (.docx) text in reading order, sectioned by its headings.

The archive is vetted by :mod:`zipguard` first: python-docx would otherwise read a zip bomb whole.
python-docx opens the package; its XML is then walked by :mod:`docx_xml`, which reads what
``Paragraph.text`` misses (text boxes, content controls, tracked insertions, fields, symbols).
Tables become Markdown pipe tables where they stand in the text.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ember.errors import IngestError
from ember.knowledge.parsers.base import Blocks, TextBudget, sections_from_blocks
from ember.knowledge.parsers.docx_xml import W_VAL, Item, StoryReader, Table
from ember.knowledge.parsers.zipguard import check_zip
from ember.knowledge.types import ParsedDocument

_HEADING_STYLE = re.compile(r"^heading\s*([1-9])$", re.IGNORECASE)
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def parse(path: Path) -> ParsedDocument:
    """A Word document as sections under its headings, titled from its properties, its Title style
    or its first heading.

    Raises :class:`IngestError` for an unsafe archive, a file that is not a (sound) Word document,
    or one without text.
    """
    check_zip(path)
    document = _open(path)
    reader = StoryReader()
    body = document.element.body
    items = reader.read(body) if body is not None else []
    blocks, title, first_heading = _body_blocks(items, _paragraph_styles(document))
    budget = TextBudget()
    if reader.exhausted:
        budget.truncated()
    sections = sections_from_blocks(blocks, budget)
    if not sections:
        raise IngestError("no text found in this Word document")
    core_title = (document.core_properties.title or "").strip()
    return ParsedDocument(
        str(path),
        "docx",
        sections,
        title=core_title or title or first_heading,
        notes=tuple(budget.notes),
    )


def _open(path: Path) -> Any:
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


def _body_blocks(
    items: list[Item], styles: tuple[dict[str, str], str]
) -> tuple[Blocks, str | None, str | None]:
    """The body's blocks under their headings, the Title-style text and the first heading."""
    names, default_name = styles
    blocks: Blocks = [((), [])]
    stack: list[tuple[int, str]] = []  # (level, heading text) from the outermost down
    title: str | None = None
    first_heading: str | None = None
    for item in items:
        if isinstance(item, Table):
            blocks[-1][1].extend(_table_lines(item))
            continue
        text = item.text.strip()
        if not text:
            continue
        level = None
        if not item.in_box:
            level = _heading_level(names.get(item.style_id or "", default_name))
        if level == 0 and title is None:  # the "Title" style names the document
            title = " ".join(text.split())
            continue
        if not level:  # body text (a second Title-style paragraph too)
            blocks[-1][1].append(text)
            continue
        heading = " ".join(text.split())
        first_heading = first_heading or heading
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, heading))
        blocks.append((tuple(heading for _, heading in stack), []))
    return blocks, title, first_heading


def _table_lines(table: Table) -> list[str]:
    lines = table.markdown()
    return ["", *lines, ""] if lines else []  # blank lines keep the table a block of its own


def _paragraph_styles(document: Any) -> tuple[dict[str, str], str]:
    """Paragraph style id -> style name, and the default paragraph style's name (what a paragraph
    without a style, or with an unknown one, has)."""
    names: dict[str, str] = {}
    default = ""
    for style in document.styles.element.iterchildren(f"{_W}style"):
        if style.get(f"{_W}type", "paragraph") != "paragraph":
            continue
        name_element = style.find(f"{_W}name")
        name = (name_element.get(W_VAL) if name_element is not None else None) or ""
        names[style.get(f"{_W}styleId") or ""] = name
        if style.get(f"{_W}default") in ("1", "true", "on") and not default:
            default = name
    return names, default


def _heading_level(name: str) -> int | None:
    """0 for the Title style, 1-9 for Heading 1-9, None for body text."""
    name = name.strip()
    if name.lower() == "title":
        return 0
    match = _HEADING_STYLE.match(name)
    return int(match.group(1)) if match else None
