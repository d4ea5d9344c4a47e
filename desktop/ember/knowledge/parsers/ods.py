"""OpenDocument spreadsheets (.ods): every sheet's rows under its header, located as
``sheet "Q3", row 14``.

Read through odfpy (see :mod:`odf_text`); rows become text as :mod:`sheet_rows` writes them.
ODF compresses runs of alike rows and cells into one element with a repeat count (LibreOffice
ends every sheet with a million empty rows that way): empty runs only advance the row or column
number, and a filled run is spelled out at most :data:`MAX_REPEATS` times.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ember.errors import IngestError
from ember.knowledge.parsers import sheet_rows
from ember.knowledge.parsers.base import TextBudget
from ember.knowledge.parsers.odf_text import (
    TABLE_NS,
    attribute,
    children,
    inline_text,
    load,
    repeat,
)
from ember.knowledge.parsers.sheet_rows import MAX_COLUMNS, sheet_sections
from ember.knowledge.types import ParsedDocument, Section

MAX_REPEATS = 1_000
_WHAT = "OpenDocument spreadsheet"
_TABLE, _ROW = (TABLE_NS, "table"), (TABLE_NS, "table-row")
_CELLS = frozenset({(TABLE_NS, "table-cell"), (TABLE_NS, "covered-table-cell")})
# Elements that hold rows (header rows, groups): read through.
_ROW_GROUPS = frozenset(
    {(TABLE_NS, "table-header-rows"), (TABLE_NS, "table-row-group"), (TABLE_NS, "table-rows")}
)


def parse(path: Path) -> ParsedDocument:
    """A spreadsheet as sections of rows, sheet by sheet.

    Raises :class:`IngestError` for an unsafe archive, a file that is not a (sound) spreadsheet,
    or one without any filled cell.
    """
    document = load(path, _WHAT)
    budget = TextBudget()
    sections: list[Section] = []
    for number, table in enumerate(_tables(document.spreadsheet), start=1):
        if budget.exhausted or len(sections) >= sheet_rows.MAX_SECTIONS:
            break
        name = attribute(table, TABLE_NS, "name") or f"Sheet{number}"
        sections.extend(
            sheet_sections(name, _rows(table), budget, sheet_rows.MAX_SECTIONS - len(sections))
        )
    if not sections:
        raise IngestError("no text found in this OpenDocument spreadsheet (every sheet is empty)")
    return ParsedDocument(str(path), "ods", tuple(sections), notes=tuple(budget.notes))


def _tables(spreadsheet: Any) -> list[Any]:
    return [child for child in children(spreadsheet) if child.qname == _TABLE]


def _rows(table: Any) -> Iterator[tuple[int, list[str]]]:
    """``(row number, cell texts)`` for each filled row of ``table``, numbered as shown."""
    number = 1
    stack = [children(table)]
    while stack:
        element = next(stack[-1], None)
        if element is None:
            stack.pop()
            continue
        if element.qname in _ROW_GROUPS:
            stack.append(children(element))
            continue
        if element.qname != _ROW:
            continue
        count = repeat(element, "number-rows-repeated")
        cells = _cells(element)
        if any(cells):
            for offset in range(min(count, MAX_REPEATS)):
                yield number + offset, cells
        number += count


def _cells(row: Any) -> list[str]:
    cells: list[str] = []
    for cell in children(row):
        if cell.qname not in _CELLS:
            continue
        text = " ".join(inline_text(cell).split())
        count = repeat(cell, "number-columns-repeated")
        if text:
            cells.extend([text] * min(count, MAX_COLUMNS - len(cells)))
        elif len(cells) + count < MAX_COLUMNS:
            cells.extend([""] * count)
        if len(cells) >= MAX_COLUMNS:
            break
    while cells and not cells[-1]:
        cells.pop()
    return cells
